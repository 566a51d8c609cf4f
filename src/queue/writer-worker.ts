import {
  type Consumer,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
  jetstream,
} from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Kysely } from 'kysely'
import type { AnalyticsEvent } from '../schema/analytics-event.js'
import type { Database } from '../store/database.js'
import type { EventStore, NewFailedEvent } from '../store/event-store.js'
import {
  type ConsumerBacklog,
  consumerBacklog,
  ensureConsumer,
  openQueue,
  withJetStreamRetry,
} from './jetstream-setup.js'
import { type QueueSettings, queueSubjects } from './queue-settings.js'
import { decodeQueuedMessage } from './queued-message.js'

/** Counters of one worker (for logs, tests and the benchmark). */
export interface WriterStats {
  /** Transactions committed. */
  batches: number
  /** Events handed to `insertBatch` (redelivered ones included). */
  events: number
  failed: number
  /** Events the store already had (redeliveries, republishes outside the stream's duplicate window). */
  duplicates: number
  /** Messages delivered more than once. */
  redelivered: number
  /** Messages that are not a well-formed queued event (not JSON, `null`, missing or mistyped fields), terminated. */
  poison: number
  /** Failed transactions (their batch was nak'ed and comes back). */
  writeErrors: number
}

/** Every counter at zero. */
export function emptyWriterStats(): WriterStats {
  return { batches: 0, events: 0, failed: 0, duplicates: 0, redelivered: 0, poison: 0, writeErrors: 0 }
}

export interface WriterWorkerOptions {
  settings: QueueSettings
  store: Pick<EventStore, 'insertBatch'>
  /** Parallel fetch → write loops in this process. Default 1. */
  concurrency?: number
  /** Longest wait of one fetch for a full batch, ms (at least 1,000). Default 1,000: a partial batch is written after it. */
  fetchExpiresMs?: number
  /**
   * Which of these failed-event ids are stored already. Failed events have no dedupe key in the store, so
   * a redelivered one is looked up before it is written again. Default: `failedEventIdsIn(store.db)`
   * when the store is a Kysely store, else redelivered failed events are written again.
   */
  existingFailedIds?: (ids: string[]) => Promise<Set<string>>
  onError?: (err: unknown, where: 'fetch' | 'write') => void
  /** Something the operator should know that is not an error (e.g. a batch size lowered to the consumer's limit). */
  onNotice?: (message: string) => void
  /** A message was terminated as poison: why, its subject and stream sequence (for the log). */
  onPoison?: (poison: { reason: string; subject: string; streamSequence: number }) => void
  /** Connection name seen in NATS monitoring. */
  name?: string
  /**
   * Longest wait of `stop()` for the batches in hand to be written and acked, ms. Default 10 s. Whatever is
   * not acked by then is redelivered to another worker after `ack_wait` (nothing a client was told is lost).
   */
  stopTimeoutMs?: number
}

/** The ids among `ids` that `failed_events` already holds. */
export async function failedEventIdsIn(db: Kysely<Database>, ids: string[]): Promise<Set<string>> {
  const rows = await db.selectFrom('failed_events').select('id').where('id', 'in', ids).execute()
  return new Set(rows.map((r) => r.id))
}

/** Consecutive fetches ended by missed heartbeats before it is reported (each is retried at once). */
const REPORT_AFTER_MISSED_HEARTBEATS = 3

/**
 * A writer: a durable pull consumer shared by every worker of the deployment. Each loop fetches up to
 * `batchSize` messages, writes them with ONE `store.insertBatch` transaction and acks them only after it
 * committed. A crash between commit and ack makes JetStream redeliver the batch after `ack_wait`; the
 * store's dedupe by `(projectId, messageId)` turns it into duplicates that change nothing. A failed
 * transaction naks the batch (redelivered after a short delay).
 *
 * @example
 * const worker = await WriterWorker.start({ settings, store })
 * // … later
 * await worker.stop()
 */
export class WriterWorker {
  readonly stats: WriterStats = emptyWriterStats()
  readonly #options: WriterWorkerOptions
  readonly #nc: NatsConnection
  readonly #jsm: JetStreamManager
  readonly #existingFailedIds?: (ids: string[]) => Promise<Set<string>>
  #stopping = false
  #loops: Promise<void>[] = []
  /** Fetches waiting for messages (stopped by `stop()`: they hold nothing). */
  readonly #fetches = new Set<ConsumerMessages>()
  /** Batches being written and acked. */
  #writing = 0
  /** Resolves when `stop()` is called: ends a fetch that is still waiting for the server. */
  #wake!: () => void
  readonly #stopped = new Promise<undefined>((resolve) => {
    this.#wake = () => resolve(undefined)
  })
  /** Messages per fetch: `settings.batchSize`, at most the consumer's `max_batch` (max_request_batch). */
  #batchSize: number

  private constructor(options: WriterWorkerOptions, nc: NatsConnection, jsm: JetStreamManager) {
    this.#options = options
    this.#nc = nc
    this.#jsm = jsm
    this.#batchSize = options.settings.batchSize
    const db = (options.store as { db?: Kysely<Database> }).db
    this.#existingFailedIds =
      options.existingFailedIds ?? (db ? (ids) => failedEventIdsIn(db, ids) : undefined)
  }

  /** Connects, ensures stream and consumer, and starts the loops. */
  static async start(options: WriterWorkerOptions): Promise<WriterWorker> {
    const { nc, jsm, settings, notices } = await openQueue(options.settings, options.name ?? 'tally-worker')
    for (const notice of notices) options.onNotice?.(notice)
    await withJetStreamRetry(() => ensureConsumer(jsm, settings))
    const worker = new WriterWorker({ ...options, settings }, nc, jsm)
    const js = jetstream(nc)
    const consumer = await withJetStreamRetry(() =>
      js.consumers.get(options.settings.stream, options.settings.consumer),
    )
    await worker.#fitBatchToConsumer(consumer)
    for (let i = 0; i < (options.concurrency ?? 1); i++) worker.#loops.push(worker.#run(consumer))
    return worker
  }

  /** The shared consumer's backlog, from its leader: the deployment's lag (for /metrics). */
  backlog(): Promise<ConsumerBacklog> {
    return consumerBacklog(this.#jsm, this.#options.settings)
  }

  /** Messages asked for per fetch (the batch size, or the consumer's lower `max_batch`). */
  get batchSize(): number {
    return this.#batchSize
  }

  /**
   * The shared consumer may limit a pull request's batch (`max_batch`, "max_request_batch": set by whichever
   * worker created it — before this release, to its own --batch-size). A fetch above it fails every time
   * ("exceeded maxrequestbatch"), so fetch at most that many.
   */
  async #fitBatchToConsumer(consumer: Consumer): Promise<void> {
    const info = await withJetStreamRetry(() => consumer.info(false))
    const limit = info.config.max_batch ?? 0
    const wanted = this.#options.settings.batchSize
    const size = limit > 0 ? Math.min(wanted, limit) : wanted
    if (size !== this.#batchSize) {
      this.#options.onNotice?.(
        `batch size ${size} instead of ${wanted}: consumer ${this.#options.settings.consumer} limits a fetch to ${limit} messages (max_batch); raise it with "nats consumer edit" or remove it`,
      )
    }
    this.#batchSize = size
  }

  /** Batches fetched and being written right now (what `stop()` waits for). */
  get batchesInHand(): number {
    return this.#writing
  }

  /**
   * Stops fetching, finishes (writes and acks) the batches in hand — waiting at most `stopTimeoutMs` — and
   * closes the connection. Bounded even while no NATS server is reachable: a pending fetch holds nothing,
   * and unacknowledged messages are redelivered.
   */
  async stop(): Promise<void> {
    this.#stopping = true
    this.#wake()
    for (const f of this.#fetches) f.stop()
    // Loops waiting on a fetch end at once (they hold nothing); loops writing a batch finish it.
    await within(Promise.all(this.#loops), this.#options.stopTimeoutMs ?? 10_000)
    // Drain flushes the acks; it cannot while disconnected, so it is bounded too.
    if (
      !(await within(
        this.#nc.drain().then(
          () => true,
          () => false,
        ),
        2_000,
      ))
    )
      await this.#nc.close()
  }

  /** Drops the connection without finishing anything (what a crash looks like to JetStream; tests). */
  async abort(): Promise<void> {
    this.#stopping = true
    await this.#nc.close()
  }

  async #run(consumer: Consumer): Promise<void> {
    const failedSubject = queueSubjects(this.#options.settings).failed
    let missedHeartbeats = 0
    while (!this.#stopping) {
      const batch: JsMsg[] = []
      try {
        const fetching = consumer.fetch({
          max_messages: this.#batchSize,
          expires: Math.max(1_000, this.#options.fetchExpiresMs ?? 1_000), // the client's minimum
        })
        const messages = await Promise.race([fetching, this.#stopped])
        if (messages === undefined) {
          fetching.then(
            (m) => m.stop(),
            () => {},
          )
          break
        }
        this.#fetches.add(messages)
        try {
          if (this.#stopping) messages.stop()
          for await (const m of messages) batch.push(m)
        } finally {
          this.#fetches.delete(messages)
        }
        missedHeartbeats = 0
      } catch (err) {
        // Leader election, lost server, connection closing: messages fetched but not acked come back.
        if (this.#stopping) break
        // A fetch whose idle heartbeats came late (a busy machine, a server just elected) is simply fetched
        // again; it was logged as "fetch failed" on idle workers. Reported once it keeps happening.
        const heartbeat = /heartbeats? missed/i.test(String((err as Error)?.message))
        missedHeartbeats = heartbeat ? missedHeartbeats + 1 : 0
        if (!heartbeat || missedHeartbeats === REPORT_AFTER_MISSED_HEARTBEATS)
          this.#options.onError?.(err, 'fetch')
        // A request the consumer refuses by its configuration (edited since start) fails every time:
        // re-read its limits instead of repeating it.
        if (/exceeded max ?request ?batch/i.test(String((err as Error)?.message)))
          await this.#fitBatchToConsumer(consumer).catch(() => {})
        await new Promise((r) => setTimeout(r, 250))
      }
      if (batch.length === 0) continue
      this.#writing++
      try {
        await this.#write(batch, failedSubject)
      } finally {
        this.#writing--
      }
    }
  }

  async #write(batch: JsMsg[], failedSubject: string): Promise<void> {
    const events: AnalyticsEvent[] = []
    const failed: NewFailedEvent[] = []
    const kept: JsMsg[] = []
    const redeliveredFailed: string[] = []
    for (const m of batch) {
      if (m.redelivered) this.stats.redelivered++
      // Checked before the batch write: a message the writer cannot store would fail the transaction for
      // every event fetched with it, on every redelivery. It is terminated (JetStream never redelivers it).
      const decoded = decodeQueuedMessage(m.data, m.subject === failedSubject)
      if (!decoded.ok) {
        this.stats.poison++
        // No reason text: nats-server before 2.10 does not parse `+TERM <reason>` and ignores the term
        // (the message came back after ack_wait, forever). The reason goes to the log instead.
        m.term()
        this.#options.onPoison?.({ reason: decoded.reason, subject: m.subject, streamSequence: m.seq })
        continue
      }
      if (decoded.kind === 'failed') {
        failed.push(decoded.failed)
        if (m.redelivered) redeliveredFailed.push(decoded.failed.id)
      } else events.push(decoded.event)
      kept.push(m)
    }
    if (kept.length === 0) return // all poison
    try {
      if (redeliveredFailed.length > 0 && this.#existingFailedIds) {
        const stored = await this.#existingFailedIds(redeliveredFailed)
        const fresh = failed.filter((f) => !stored.has(f.id))
        this.stats.duplicates += failed.length - fresh.length
        failed.length = 0
        failed.push(...fresh)
      }
      const outcomes = await this.#options.store.insertBatch(events, failed)
      this.stats.batches++
      this.stats.events += events.length
      this.stats.failed += failed.length
      for (const o of outcomes) if (o.status === 'duplicate') this.stats.duplicates++
    } catch (err) {
      this.stats.writeErrors++
      this.#options.onError?.(err, 'write')
      for (const m of kept) m.nak(1_000)
      return
    }
    // After commit. A crash here is harmless: the batch is redelivered and deduplicated by the store.
    for (const m of kept) m.ack()
  }
}

/** Resolves with `work`'s value, or undefined after `ms` (leaving `work` to finish or not). */
async function within<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
    timer.unref()
  })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}
