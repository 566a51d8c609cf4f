import { type Kysely, type Migrator, sql, type Transaction } from 'kysely'
import { AppError } from '../errors/app-error.js'
import { decodeCursor, encodeCursor, queryFingerprint } from '../query/cursor.js'
import { eventFilterExpression } from '../query/event-filters.js'
import type { AnalyticsEvent } from '../schema/analytics-event.js'
import { DEFAULT_QUERY_LIMIT, type EventQuery, MAX_QUERY_LIMIT } from '../schema/event-query.js'
import type { EventUpdate } from '../schema/event-update.js'
import type { ValidationIssue } from '../schema/validation-issue.js'
import { lockProjectRollups } from '../stats/rollups/write-rollups.js'
import { type DeletionContext, eraseInSlices, purgeInSlices } from './chunked-delete.js'
import type { Database } from './database.js'
import { databaseNowMs } from './database-clock.js'
import type { StoreDialect } from './dialect.js'
import { awaitWritesInFlight } from './erasure-fence.js'
import { erasureDigest } from './erasures.js'
import { chunkForParams, type EncodedBatch, EVENT_COLUMNS, encodeBatch, fromEventRow } from './event-rows.js'
import type {
  AckOptions,
  ApiKeyRecord,
  ClaimOptions,
  DeleteFilter,
  EventPage,
  EventStore,
  FailedEventPage,
  FailedEventQuery,
  InsertOutcome,
  NewFailedEvent,
  Project,
  ProjectSettings,
  StoredSchema,
} from './event-store.js'
import { FailedEventRepository } from './failed-event-repository.js'
import { insertBatchInTransaction, storedEventIds } from './insert-batch.js'
import { createMigrator } from './migrations/create-migrator.js'
import { nextTurn } from './next-turn.js'
import { ProjectRepository } from './project-repository.js'
import { hourRanges, type RollupRebuilder, type RollupWriter } from './rollup-writer.js'
import type { BatchWriter } from './sqlite/worker-batch-writer.js'
import { toStoreError } from './store-errors.js'

/** Options of `KyselyEventStore`. */
export interface KyselyEventStoreOptions {
  /** Called inside every insert transaction with the accepted events. Default: none. */
  readonly rollupWriter?: RollupWriter
  /** Called inside every delete transaction for the hours that lost events. Default: none. */
  readonly rollupRebuilder?: RollupRebuilder
  /**
   * Runs `insertBatch` elsewhere (the SQLite write worker, which has its own connection to the same file
   * and the same rollup writer). Default: none, group commits run on this store's connection.
   */
  readonly batchWriter?: BatchWriter
  /**
   * SQLite: the rollup watermark (src/stats/rollups/catch-up-rollups.ts). With `defer`, rollups are left out
   * of the insert transaction and brought up to date afterwards, many commits at a time; without it they
   * are written in the transaction and the watermark follows. Either way statistics are exact. Needs
   * `rollupWriter` and `rollupRebuilder`.
   */
  readonly rollupWatermark?: {
    /** Adds every event above the watermark to the rollups; in the caller's transaction when given one. */
    catchUp: (db: Kysely<Database>) => Promise<number>
    /** After a delete or an in-transaction rollup write: the watermark becomes the largest rowid. */
    resetWatermark: (trx: Transaction<Database>) => Promise<void>
    /** Leave rollups out of the insert transaction. */
    defer: boolean
    /** How long after a commit the catch-up runs. Default 1,000 ms. */
    delayMs?: number
    /** Events waiting that start a catch-up at once. Default 5,000. */
    maxPending?: number
  }
}

/**
 * SQLITE_FULL, or what hides it: SQLite rolls a transaction back by itself on a full disk, and Kysely's own
 * ROLLBACK then fails with "no transaction is active", replacing the original error.
 */
function isDiskFull(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 4;
    i++
  ) {
    if (e.code === 'SQLITE_FULL') return true
    if (typeof e.message === 'string' && /database or disk is full|no transaction is active/.test(e.message))
      return true
    e = e.cause as typeof e
  }
  return false
}

/**
 * Whether a query's filters leave SQLite to read the project's events one by one along the time index:
 * property predicates, anonymousId, sessionId, names without types, statuses. userId, messageId and
 * types (with or without names) have indexes of their own.
 */
function scansUnindexed(query: EventQuery): boolean {
  return (
    (query.where?.length ?? 0) > 0 ||
    query.anonymousId !== undefined ||
    query.sessionId !== undefined ||
    query.status !== undefined ||
    (query.names !== undefined && query.types === undefined)
  )
}

const clampLimit = (limit: number | undefined, fallback: number, max: number) =>
  Math.min(max, Math.max(1, Math.trunc(limit ?? fallback)))

/**
 * The one `EventStore` implementation, written with Kysely for both dialects. What differs between
 * SQLite and PostgreSQL comes from the `StoreDialect` (time and JSON columns, predicates, capabilities).
 * Every driver error leaves as an AppError (`store_unavailable` or `internal`).
 */
export class KyselyEventStore implements EventStore {
  readonly dialect
  readonly #db: Kysely<Database>
  readonly #sd: StoreDialect
  readonly #migrator: Migrator
  readonly #rollupWriter: RollupWriter | undefined
  readonly #rollupRebuilder: RollupRebuilder | undefined
  readonly #failed: FailedEventRepository
  readonly #projects: ProjectRepository
  readonly #batchWriter: BatchWriter | undefined
  readonly #watermark: KyselyEventStoreOptions['rollupWatermark']
  /** Deferred rollups: events committed since the last catch-up, the timer and the catch-up running. */
  #pendingRollupRows = 0
  #catchUpTimer: NodeJS.Timeout | undefined
  #catchUpRunning: Promise<void> | undefined
  /** A write failed with a full disk (SQLite): relieve the WAL before the next one. */
  #diskFull = false
  #closed = false

  constructor(db: Kysely<Database>, dialect: StoreDialect, options: KyselyEventStoreOptions = {}) {
    this.#db = db
    this.#sd = dialect
    this.dialect = dialect.name
    this.#migrator = createMigrator(db, dialect)
    this.#rollupWriter = options.rollupWriter
    this.#rollupRebuilder = options.rollupRebuilder
    this.#batchWriter = options.batchWriter
    this.#watermark = options.rollupWriter ? options.rollupWatermark : undefined
    this.#failed = new FailedEventRepository(db, dialect)
    this.#projects = new ProjectRepository(db, dialect)
  }

  /** The Kysely instance (for the statistics stage and tools); the store keeps ownership. */
  get db(): Kysely<Database> {
    return this.#db
  }

  /**
   * How many group commits may be in flight at once (EventService's `writeConcurrency`; the EventService
   * starts a second one only for a large backlog): PostgreSQL runs concurrent transactions (dedupe by ON
   * CONFLICT in one key order, rollups under a per-project advisory lock); the SQLite write worker can take
   * the next group while it commits one (it runs them in order); a SQLite connection on the caller's
   * thread writes one at a time.
   */
  get writeConcurrency(): number {
    if (this.#batchWriter) return 2
    return this.#sd.name === 'postgres' ? 2 : 1
  }

  /** The dialect this store runs on. */
  get storeDialect(): StoreDialect {
    return this.#sd
  }

  async #guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      throw toStoreError(err)
    }
  }

  migrate(): Promise<string[]> {
    return this.#guard(async () => {
      const { error, results } = await this.#migrator.migrateToLatest()
      if (error) throw error
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
    })
  }

  /**
   * Which of Tally's migrations this database has and lacks. `applied === 0` means no Tally schema at all
   * (a fresh or a foreign database); pending ones with some applied mean an older Tally's database.
   */
  migrationStatus(): Promise<{ applied: number; pending: string[] }> {
    return this.#guard(async () => {
      const all = await this.#migrator.getMigrations()
      const pending = all.filter((m) => m.executedAt === undefined).map((m) => m.name)
      return { applied: all.length - pending.length, pending }
    })
  }

  ping(): Promise<void> {
    return this.#guard(async () => {
      await sql`select 1`.execute(this.#db)
      const pending = (await this.#migrator.getMigrations()).filter((m) => m.executedAt === undefined)
      if (pending.length > 0) {
        throw new AppError(
          'store_unavailable',
          `Migrations pending: ${pending.map((m) => m.name).join(', ')}`,
          {
            retryAfterSeconds: 5,
          },
        )
      }
      if (this.#sd.name === 'postgres') await this.#assertRowPrivileges()
    })
  }

  /**
   * PostgreSQL: the server's role may read and write the rows of every table the migrations made (those
   * owned by `tally_migrations`' owner). With a grant revoked, every request needing it answered 503 while
   * /readyz said ready (a trial), so a load balancer kept sending traffic to a node that could not serve it.
   */
  async #assertRowPrivileges(): Promise<void> {
    const { rows } = await sql<{ table: string; missing: string }>`
      select c.relname as "table",
        concat_ws(', ',
          case when not has_table_privilege(c.oid, 'SELECT') then 'SELECT' end,
          case when not has_table_privilege(c.oid, 'INSERT') then 'INSERT' end,
          case when not has_table_privilege(c.oid, 'UPDATE') then 'UPDATE' end,
          case when not has_table_privilege(c.oid, 'DELETE') then 'DELETE' end) as missing
      from pg_class c
      where c.relnamespace = current_schema()::regnamespace
        and c.relkind in ('r', 'p')
        and c.relname <> 'tally_migrations'
        and c.relowner = (select m.relowner from pg_class m
                          where m.relname = 'tally_migrations' and m.relnamespace = current_schema()::regnamespace)
        and not (has_table_privilege(c.oid, 'SELECT') and has_table_privilege(c.oid, 'INSERT')
                 and has_table_privilege(c.oid, 'UPDATE') and has_table_privilege(c.oid, 'DELETE'))
      order by 1`.execute(this.#db)
    if (rows.length === 0) return
    throw new AppError(
      'store_unavailable',
      `The database user lacks privileges Tally needs: ${rows.map((r) => `${r.missing} on ${r.table}`).join('; ')} (docs/storage.md, "A migration role and a runtime role")`,
      { retryAfterSeconds: 5 },
    )
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    try {
      await this.#batchWriter?.close() // answers every write already posted first
      await this.#finishRollups()
    } finally {
      await this.#db.destroy()
    }
  }

  insertBatch(
    events: readonly AnalyticsEvent[],
    failed: readonly NewFailedEvent[],
  ): Promise<InsertOutcome[]> {
    if (events.length === 0 && failed.length === 0) return Promise.resolve([])
    const writer = this.#batchWriter
    if (writer) return this.#guard(() => writer.insertBatch(events, failed))
    return this.#guard(() => this.#insert(encodeBatch(this.#sd, events, failed), events))
  }

  /**
   * `insertBatch` for a batch already encoded by `encodeBatch` with this store's dialect: what the SQLite
   * write worker receives from the main thread, which serialised each event's columns once.
   */
  insertEncodedBatch(batch: EncodedBatch): Promise<InsertOutcome[]> {
    if (batch.events.length === 0 && batch.failed.length === 0) return Promise.resolve([])
    return this.#guard(() => this.#insert(batch, null))
  }

  /**
   * One group commit on this connection. Rollups: deferred (the watermark catches up after the commit), or
   * in the transaction — from `events` when the caller has them, else read back from the rows just
   * inserted by the watermark's catch-up (same counts, the encoded batch carries no event objects).
   */
  async #insert(batch: EncodedBatch, events: readonly AnalyticsEvent[] | null): Promise<InsertOutcome[]> {
    const watermark = this.#watermark
    const defer = watermark?.defer === true
    const writeRollups = this.#rollupWriter
    if (this.#diskFull) this.#diskFull = !(this.#sd.relieveFullDisk?.() ?? true)
    try {
      const outcomes = await this.#db.transaction().execute(async (trx) => {
        if (defer || writeRollups === undefined) return insertBatchInTransaction(trx, this.#sd, batch)
        if (events === null) {
          if (!watermark) throw new Error('an encoded batch needs deferred rollups or a rollup watermark')
          const written = await insertBatchInTransaction(trx, this.#sd, batch)
          await watermark.catchUp(trx)
          return written
        }
        // Rollups in the transaction on SQLite: anything a deferred writer left is counted first, and the
        // watermark then covers these rows too, so statistics' catch-up never counts them twice.
        if (watermark) await watermark.catchUp(trx)
        const written = await insertBatchInTransaction(trx, this.#sd, batch, (accepted) =>
          writeRollups(
            trx,
            this.#sd,
            accepted.map((i) => events[i]),
          ),
        )
        if (watermark) await watermark.resetWatermark(trx)
        return written
      })
      if (defer) this.#noteCommitted(outcomes.length)
      return outcomes
    } catch (err) {
      if (this.#sd.relieveFullDisk && isDiskFull(err)) this.#diskFull = true
      throw err
    }
  }

  /**
   * Brings deferred rollups up to date now (statistics do this themselves; the CLI calls it after an
   * import). A no-op when rollups are maintained in the insert transaction.
   */
  refreshRollups(): Promise<number> {
    const watermark = this.#watermark
    if (!watermark) return Promise.resolve(0)
    return this.#guard(() => watermark.catchUp(this.#db))
  }

  /** Deferred rollups: counts a commit and starts a catch-up soon (or at once past `maxPending`). */
  #noteCommitted(rows: number): void {
    const deferred = this.#watermark!
    this.#pendingRollupRows += rows
    if (this.#catchUpRunning) return // it re-checks the backlog when it ends
    if (this.#pendingRollupRows >= (deferred.maxPending ?? 5000)) {
      this.#startCatchUp()
      return
    }
    if (this.#catchUpTimer === undefined) {
      this.#catchUpTimer = setTimeout(() => this.#startCatchUp(), deferred.delayMs ?? 1000)
      this.#catchUpTimer.unref()
    }
  }

  #startCatchUp(): void {
    clearTimeout(this.#catchUpTimer)
    this.#catchUpTimer = undefined
    if (this.#catchUpRunning || this.#closed) return
    this.#pendingRollupRows = 0
    this.#catchUpRunning = this.#watermark!.catchUp(this.#db)
      .then(() => undefined)
      // Nothing is lost on failure: the events are committed, and the next catch-up (a later commit, a
      // statistics query, close or the next start) resumes from the watermark.
      .catch(() => undefined)
      .finally(() => {
        this.#catchUpRunning = undefined
        if (this.#pendingRollupRows > 0 && !this.#closed) this.#noteCommitted(0)
      })
  }

  /** At close: wait for a running catch-up and run a last one, so a clean shutdown leaves none pending. */
  async #finishRollups(): Promise<void> {
    const watermark = this.#watermark
    if (!watermark?.defer) return
    clearTimeout(this.#catchUpTimer)
    this.#catchUpTimer = undefined
    await this.#catchUpRunning
    try {
      await watermark.catchUp(this.#db)
    } catch {
      // The next start catches up from the watermark.
    }
  }

  /** In a delete transaction, before deleting: count everything first (see `resetWatermark`). */
  async #beforeDelete(trx: Transaction<Database>): Promise<void> {
    if (this.#watermark) await this.#watermark.catchUp(trx)
  }

  async #afterDelete(trx: Transaction<Database>): Promise<void> {
    if (this.#watermark) await this.#watermark.resetWatermark(trx)
  }

  getEvent(projectId: string, id: string): Promise<AnalyticsEvent | undefined> {
    return this.#guard(async () => {
      const row = await this.#db
        .selectFrom('events')
        .select(EVENT_COLUMNS)
        .where('project_id', '=', projectId)
        .where('id', '=', id)
        .executeTakeFirst()
      return row && fromEventRow(this.#sd, row)
    })
  }

  #updateSet(update: EventUpdate) {
    const set: { status?: string; error?: string | null; attempts?: number; tags?: string } = {}
    if (update.status !== undefined) set.status = update.status
    if (update.error !== undefined) set.error = update.error
    if (update.attempts !== undefined) set.attempts = update.attempts
    if (update.tags !== undefined) set.tags = this.#sd.toDbJson(update.tags)
    return set
  }

  updateEvent(projectId: string, id: string, update: EventUpdate): Promise<AnalyticsEvent | undefined> {
    return this.#guard(async () => {
      const set = this.#updateSet(update)
      if (Object.keys(set).length > 0) {
        await this.#db
          .updateTable('events')
          .set(set)
          .where('project_id', '=', projectId)
          .where('id', '=', id)
          .execute()
      }
      return this.getEvent(projectId, id)
    })
  }

  updateEvents(projectId: string, ids: readonly string[], update: EventUpdate): Promise<number> {
    return this.#guard(async () => {
      const set = this.#updateSet(update)
      if (ids.length === 0 || Object.keys(set).length === 0) return 0
      let n = 0
      await this.#db.transaction().execute(async (trx) => {
        for (const chunk of chunkForParams(ids, 1, this.#sd.capabilities.maxBindParams - 10)) {
          const r = await trx
            .updateTable('events')
            .set(set)
            .where('project_id', '=', projectId)
            .where('id', 'in', chunk)
            .executeTakeFirst()
          n += Number(r.numUpdatedRows)
        }
      })
      return n
    })
  }

  deleteEvent(projectId: string, id: string): Promise<boolean> {
    return this.#guard(() =>
      this.#db.transaction().execute(async (trx) => {
        if (this.#rollupRebuilder) await lockProjectRollups(trx, this.#sd, [projectId])
        await this.#beforeDelete(trx)
        const row = await trx
          .deleteFrom('events')
          .where('project_id', '=', projectId)
          .where('id', '=', id)
          .returning(['message_id', 'timestamp'])
          .executeTakeFirst()
        if (!row) return false
        if (!this.#sd.capabilities.dedupeOnEvents) {
          await trx
            .deleteFrom('event_dedupe')
            .where('project_id', '=', projectId)
            .where('message_id', '=', row.message_id)
            .execute()
        }
        await this.#rebuildRollups(trx, projectId, [Date.parse(this.#sd.fromDbTime(row.timestamp))])
        await this.#afterDelete(trx)
        return true
      }),
    )
  }

  /** GDPR erasure, in short transactions (chunked-delete.ts: a long one held the writer for seconds). */
  deleteWhere(projectId: string, filter: DeleteFilter): Promise<{ events: number; failedEvents: number }> {
    const ids = [filter.userId, filter.anonymousId].filter(
      (v): v is string => typeof v === 'string' && v !== '',
    )
    if (ids.length === 0) {
      return Promise.reject(new AppError('validation_failed', 'deleteWhere needs a userId or an anonymousId'))
    }
    return this.#guard(async () => {
      // Remembered first: events of the person accepted before now but not yet written (a scale-out
      // worker's backlog, a group commit in flight) are dropped when they are written (insert-batch.ts).
      await this.#db
        .insertInto('erasures')
        .values({
          project_id: projectId,
          user_id: filter.userId ? erasureDigest(projectId, filter.userId) : null,
          anonymous_id: filter.anonymousId ? erasureDigest(projectId, filter.anonymousId) : null,
          erased_at: this.#sd.now(),
        })
        .execute()
      await awaitWritesInFlight(this.#db, this.#sd, projectId)
      return eraseInSlices(this.#deletion, projectId, filter)
    })
  }

  /** Retention, in short transactions (chunked-delete.ts). */
  purgeOlderThan(cutoff: Date, projectId?: string): Promise<{ events: number; failedEvents: number }> {
    return this.#guard(async () => {
      const purged = await purgeInSlices(this.#deletion, cutoff, projectId)
      // Erasures are needed only while events received before them may still be written: gone with the
      // retention window like everything else.
      let old = this.#db.deleteFrom('erasures').where('erased_at', '<', this.#sd.toDbTime(cutoff))
      if (projectId !== undefined) old = old.where('project_id', '=', projectId)
      await old.execute()
      return purged
    })
  }

  get #deletion(): DeletionContext {
    return {
      db: this.#db,
      dialect: this.#sd,
      beforeDelete: (trx) => this.#beforeDelete(trx),
      afterDelete: (trx) => this.#afterDelete(trx),
      rebuild: (trx, projectId, timestampsMs) => this.#rebuildRollups(trx, projectId, timestampsMs),
      failed: this.#failed,
    }
  }

  /** Recomputes the rollups of the hours that held the given event timestamps (epoch ms). */
  async #rebuildRollups(
    trx: Transaction<Database>,
    projectId: string,
    timestampsMs: number[],
  ): Promise<void> {
    if (!this.#rollupRebuilder) return
    for (const range of hourRanges(timestampsMs)) await this.#rollupRebuilder(trx, this.#sd, projectId, range)
  }

  queryEvents(projectId: string, query: EventQuery): Promise<EventPage> {
    return this.#guard(async () => {
      const order = query.order ?? 'desc'
      const limit = clampLimit(query.limit, DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT)
      const fingerprint = queryFingerprint(`events:${projectId}`, query)
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, fingerprint)
      // Building a query checks its filters (a bad predicate is validation_failed): `whole` is built first, so
      // a windowed scan of a project with no events still refuses one.
      const build = (window?: readonly [fromMs: number, toMs: number], max = limit + 1) => {
        let qb = this.#db
          .selectFrom('events')
          .select(EVENT_COLUMNS)
          .where((eb) => eventFilterExpression(eb, this.#sd, projectId, query))
        if (after) {
          const at = this.#sd.toDbTime(after.t)
          qb = qb.where((eb) =>
            eb(
              eb.refTuple('events.timestamp', 'events.id'),
              order === 'desc' ? '<' : '>',
              eb.tuple(at, after.id),
            ),
          )
        }
        if (window) {
          qb = qb
            .where('events.timestamp', '>=', this.#sd.toDbTime(window[0]))
            .where('events.timestamp', '<', this.#sd.toDbTime(window[1]))
        }
        return qb.orderBy('events.timestamp', order).orderBy('events.id', order).limit(max)
      }
      const whole = build()
      const rows =
        this.#sd.name === 'sqlite' && scansUnindexed(query)
          ? await this.#selectInWindows(projectId, query, order, after?.t, limit + 1, (window, max) =>
              build(window, max).execute(),
            )
          : await whole.execute()
      const events = rows.slice(0, limit).map((r) => fromEventRow(this.#sd, r))
      const last = events[events.length - 1]
      const nextCursor =
        rows.length > limit && last
          ? encodeCursor({ t: Date.parse(last.timestamp), id: last.id }, fingerprint)
          : null
      return { events, nextCursor }
    })
  }

  /**
   * A SQLite query whose filters no index serves (a property predicate, an anonymousId…), run as a series
   * of time windows along the project's time index, newest first (oldest first for `asc`), with the event
   * loop turning between them: better-sqlite3 answers synchronously, and one query that found few matches
   * among 1M events blocked the whole server — ingest and /healthz — for 2–13 s. Windows start at a day and
   * grow (×4) while they answer within ~10 ms, shrink (÷2) past ~50 ms; the scan stops once `max` rows are
   * found or the range is covered. Same rows, same order as one query.
   */
  async #selectInWindows<R>(
    projectId: string,
    query: EventQuery,
    order: 'asc' | 'desc',
    cursorMs: number | undefined,
    max: number,
    select: (window: readonly [number, number], max: number) => Promise<R[]>,
  ): Promise<R[]> {
    const bounds = await this.#db
      .selectFrom('events')
      .select((eb) => [eb.fn.min('timestamp').as('lo'), eb.fn.max('timestamp').as('hi')])
      .where('project_id', '=', projectId)
      .executeTakeFirst()
    if (bounds?.lo == null || bounds.hi == null) return []
    let lo = Number(bounds.lo)
    let hi = Number(bounds.hi) + 1
    if (query.from !== undefined) lo = Math.max(lo, Date.parse(query.from))
    if (query.to !== undefined) hi = Math.min(hi, Date.parse(query.to))
    if (cursorMs !== undefined) {
      if (order === 'desc') hi = Math.min(hi, cursorMs + 1)
      else lo = Math.max(lo, cursorMs)
    }
    const rows: R[] = []
    let width = 86_400_000
    let edge = order === 'desc' ? hi : lo
    while (rows.length < max && (order === 'desc' ? edge > lo : edge < hi)) {
      const window: [number, number] =
        order === 'desc' ? [Math.max(lo, edge - width), edge] : [edge, Math.min(hi, edge + width)]
      const started = performance.now()
      rows.push(...(await select(window, max - rows.length)))
      const took = performance.now() - started
      edge = order === 'desc' ? window[0] : window[1]
      if (took < 10) width *= 4
      else if (took > 50) width = Math.max(60_000, Math.floor(width / 2))
      if (rows.length < max) await nextTurn()
    }
    return rows
  }

  async *exportEvents(projectId: string, query: EventQuery): AsyncIterable<AnalyticsEvent> {
    const { cursor: _c, limit: _l, ...filter } = query
    let cursor: string | undefined
    do {
      const page = await this.queryEvents(projectId, { ...filter, limit: MAX_QUERY_LIMIT, cursor })
      yield* page.events
      cursor = page.nextCursor ?? undefined
      // better-sqlite3 answers synchronously, so every await above settles as a microtask and a large
      // export never gave the event loop back: every other request (ingest of all projects, /healthz)
      // waited for the whole export. One page, then a turn of the event loop.
      if (cursor) await nextTurn()
    } while (cursor)
  }

  listFailedEvents(projectId: string, query: FailedEventQuery): Promise<FailedEventPage> {
    return this.#guard(() => this.#failed.list(projectId, query))
  }

  markFailedEventsStillFailing(
    projectId: string,
    items: readonly { id: string; errors: ValidationIssue[]; receivedAt: string }[],
  ): Promise<void> {
    return this.#guard(() => this.#failed.markStillFailing(projectId, items))
  }

  claimFailedEventsForReplay(
    projectId: string,
    ids: readonly string[],
    leaseMs: number,
  ): Promise<Set<string>> {
    return this.#guard(() => this.#failed.claimForReplay(projectId, ids, leaseMs))
  }

  storedEventIds(projectId: string, messageIds: readonly string[]): Promise<Map<string, string>> {
    return this.#guard(() => storedEventIds(this.#db, this.#sd, projectId, messageIds))
  }

  markFailedEventsReplayed(projectId: string, ids: readonly string[]): Promise<Set<string>> {
    return this.#guard(() => this.#failed.remove(projectId, ids))
  }

  claim(projectId: string, options: ClaimOptions): Promise<AnalyticsEvent[]> {
    const limit = clampLimit(options.limit, 100, MAX_QUERY_LIMIT)
    const leaseMs = Math.max(1, Math.trunc(options.leaseMs))
    return this.#guard(() =>
      this.#db.transaction().execute(async (trx) => {
        const now = await databaseNowMs(trx, this.#sd)
        let pick = trx
          .selectFrom('events')
          .select('id')
          .where('project_id', '=', projectId)
          // Implied by the condition below, but written as the partial index's own WHERE, with literals
          // (a bound parameter proves nothing at prepare time): SQLite uses `events_claimable_idx` only then.
          // Without it, it sorted every event of the project (6.4 s at 400k events, the server frozen).
          .where(sql<boolean>`status in ('received', 'processing')`)
          .where((eb) =>
            eb.or([
              eb('status', '=', 'received'),
              // `processing` without a lease (set by an update, not by a claim) is claimable at once.
              eb.and([
                eb('status', '=', 'processing'),
                eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', this.#sd.toDbTime(now))]),
              ]),
            ]),
          )
          .orderBy('id')
          .limit(limit)
        if (options.types?.length) pick = pick.where('type', 'in', options.types)
        if (this.#sd.capabilities.supportsConcurrentWriters) pick = pick.forUpdate().skipLocked()
        const ids = (await pick.execute()).map((r) => r.id)
        if (ids.length === 0) return []
        await trx
          .updateTable('events')
          .set({
            status: 'processing',
            claimed_by: options.consumer,
            lease_until: this.#sd.toDbTime(now + leaseMs),
          })
          .where('project_id', '=', projectId)
          .where('id', 'in', ids)
          .execute()
        const rows = await trx
          .selectFrom('events')
          .select(EVENT_COLUMNS)
          .where('project_id', '=', projectId)
          .where('id', 'in', ids)
          .orderBy('id')
          .execute()
        return rows.map((r) => fromEventRow(this.#sd, r))
      }),
    )
  }

  ack(projectId: string, { consumer, ids, status, error }: AckOptions): Promise<number> {
    if (status !== 'processed' && status !== 'failed') {
      return Promise.reject(new AppError('validation_failed', 'ack takes processed or failed'))
    }
    if (ids.length === 0) return Promise.resolve(0)
    return this.#guard(() =>
      this.#db.transaction().execute(async (trx) => {
        let n = 0
        for (const chunk of chunkForParams(ids, 1, this.#sd.capabilities.maxBindParams - 10)) {
          const r = await trx
            .updateTable('events')
            .set((eb) => ({
              status,
              error: status === 'failed' ? (error ?? null) : null,
              attempts: eb('attempts', '+', 1),
              claimed_by: null,
              lease_until: null,
            }))
            .where('project_id', '=', projectId)
            .where('status', '=', 'processing')
            // Only the holder: after a lease ran out and another consumer claimed the event, a late ack
            // from the first must not overwrite the second's outcome.
            .where('claimed_by', '=', consumer)
            .where('id', 'in', chunk)
            .executeTakeFirst()
          n += Number(r.numUpdatedRows)
        }
        return n
      }),
    )
  }

  saveSchema(schema: StoredSchema): Promise<void> {
    return this.#guard(() => this.#projects.saveSchema(schema))
  }
  listSchemas(projectId: string): Promise<StoredSchema[]> {
    return this.#guard(() => this.#projects.listSchemas(projectId))
  }
  createProject(project: Project): Promise<void> {
    return this.#guard(() => this.#projects.createProject(project))
  }
  getProject(projectId: string): Promise<Project | undefined> {
    return this.#guard(() => this.#projects.getProject(projectId))
  }
  listProjects(): Promise<Project[]> {
    return this.#guard(() => this.#projects.listProjects())
  }
  updateProjectSettings(projectId: string, settings: Partial<ProjectSettings>): Promise<Project | undefined> {
    return this.#guard(() => this.#projects.updateProjectSettings(projectId, settings))
  }
  saveApiKey(key: ApiKeyRecord): Promise<void> {
    return this.#guard(() => this.#projects.saveApiKey(key))
  }
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    return this.#guard(() => this.#projects.findApiKeyByHash(hash))
  }
  listApiKeys(projectId: string): Promise<ApiKeyRecord[]> {
    return this.#guard(() => this.#projects.listApiKeys(projectId))
  }
  revokeApiKey(projectId: string, keyId: string): Promise<boolean> {
    return this.#guard(() => this.#projects.revokeApiKey(projectId, keyId))
  }
}
