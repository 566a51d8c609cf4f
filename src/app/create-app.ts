import type { FastifyBaseLogger } from 'fastify'
import { AuditLog, cliActor } from '../audit/audit-log.js'
import type { Config } from '../config/config.js'
import { createEventFormatter } from '../enrich/event-formatter.js'
import { buildServer, type TallyServer } from '../http/build-server.js'
import { EventService, type EventServiceOptions } from '../ingest/event-service.js'
import { ProjectRuntimeCache } from '../ingest/project-runtime.js'
import { replayFailedEvents } from '../ingest/replay-failed-events.js'
import { registerIngestOnly, registerQueueReadiness } from '../queue/ingest-only.js'
import { openQueuePublisher, type QueuePublisher } from '../queue/jetstream-sink.js'
import type { QueueSettings } from '../queue/queue-settings.js'
import { queueSettingsOf } from '../queue/queue-settings.js'
import { assertMigrated } from '../store/assert-migrated.js'
import { createStore } from '../store/create-store.js'
import type { EventStore } from '../store/event-store.js'
import type { KyselyEventStore } from '../store/kysely-event-store.js'
import { EventValidator } from '../validate/event-validator.js'
import { type BootstrapResult, bootstrapDefaultProject, DEFAULT_PROJECT_ID } from './bootstrap.js'
import { createStatsService } from './stats-service.js'

/** A composed Tally: store, pipeline and HTTP server, not yet listening. */
export interface TallyApp {
  readonly config: Config
  readonly server: TallyServer
  readonly store: EventStore
  readonly events: EventService
  /** The default project and its keys (secrets only where new in this start or from the environment). */
  readonly bootstrap: BootstrapResult
  /** Starts listening on config.host:config.port; resolves to the base URL. */
  listen(): Promise<string>
  /**
   * Graceful stop, idempotent: stop accepting connections and finish in-flight requests, write every queued
   * event, close the database.
   */
  close(): Promise<void>
}

export interface CreateAppOptions {
  /** Use this store instead of opening `config.databaseUrl` (it is closed by `close()` all the same). */
  store?: EventStore
  logger?: FastifyBaseLogger
  /** Group-commit tuning of the EventService (defaults are the EventService's). */
  ingest?: Pick<EventServiceOptions, 'maxGroupEvents' | 'maxWaitMs' | 'maxQueuedEvents' | 'writeConcurrency'>
  /** Queue settings beyond the config's (stream limits, timeouts; tests). Used when `config.queueUrl` is set. */
  queue?: Partial<Omit<QueueSettings, 'servers'>>
}

/**
 * The composition root: opens the store (running migrations unless turned off), ensures the default project
 * and its keys, builds validator → formatter → EventService and the HTTP server on top.
 *
 * @example
 * const app = await createApp(loadConfig())
 * console.log(await app.listen())
 */
export async function createApp(config: Config, options: CreateAppOptions = {}): Promise<TallyApp> {
  const store =
    options.store ??
    (await createStore(config.databaseUrl, {
      synchronous: config.sqliteSynchronous,
      writeWorker: config.sqliteWriteWorker,
    }))
  let publisher: QueuePublisher | undefined
  try {
    if (config.queueUrl !== undefined)
      publisher = await openQueuePublisher(queueSettingsOf(config, options.queue))
    if (config.migrateOnStart) await store.migrate()
    else await assertMigrated(store)
    const audit = 'db' in store ? new AuditLog((store as KyselyEventStore).db) : undefined
    const bootstrap = await bootstrapDefaultProject(store, config, new Date(), (entry) =>
      audit
        ? audit.record({ ...entry, projectId: DEFAULT_PROJECT_ID, actor: cliActor(process.env) })
        : Promise.resolve(),
    )
    const validator = new EventValidator({ limits: { maxBatchBytes: config.bodyLimit } })
    const formatter = createEventFormatter()
    const projects = new ProjectRuntimeCache(store)
    const events = new EventService({
      store,
      validator,
      formatter,
      projects,
      maxQueuedEvents: config.ingestQueueMax,
      maxQueuedBytes: config.ingestQueueMaxBytes,
      writeConcurrency: (store as Partial<KyselyEventStore>).writeConcurrency ?? 1,
      // Scale-out: publish to JetStream; publishes of concurrent groups overlap (each waits for its acks).
      ...(publisher ? { sink: publisher.sink, writeConcurrency: 16 } : {}),
      ...options.ingest,
      onWriteError: (err) => server.log.error({ err }, 'group commit failed'),
    })
    const server: TallyServer = await buildServer({
      config,
      store,
      ingestor: events,
      queueDepth: () => events.queueDepth,
      logger: options.logger,
      replayFailedEvents: (projectId, filter) =>
        replayFailedEvents({ store, validator, formatter, projects }, projectId, filter),
      onProjectChanged: (projectId) => projects.invalidate(projectId),
      stats: 'db' in store ? createStatsService(store as KyselyEventStore) : undefined,
      audit,
    })

    for (const notice of publisher?.notices ?? []) server.log.warn(notice)
    if (config.ingestOnly) registerIngestOnly(server)
    if (publisher) registerQueueReadiness(server, publisher.isConnected)

    let closing: Promise<void> | undefined
    return {
      config,
      server,
      store,
      events,
      bootstrap,
      async listen() {
        const address = await server.listen({ host: config.host, port: config.port })
        return address
      },
      close() {
        closing ??= (async () => {
          try {
            await server.close() // stops accepting; waits for in-flight requests (their events included)
          } finally {
            try {
              await events.close() // writes anything still queued
            } finally {
              await publisher?.close()
              await store.close()
            }
          }
        })()
        return closing
      },
    }
  } catch (err) {
    await publisher?.close()
    await store.close()
    throw err
  }
}

/**
 * With TALLY_MIGRATE_ON_START=false the schema is someone else's job (a deploy step): refuse to start on a
 * database that lacks migrations, naming them, instead of failing later with "no such table".
 */
