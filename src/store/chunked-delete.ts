import { type Kysely, sql, type Transaction } from 'kysely'
import { lockProjectRollups } from '../stats/rollups/write-rollups.js'
import type { Database } from './database.js'
import type { StoreDialect } from './dialect.js'
import { chunkForParams } from './event-rows.js'
import type { DeleteFilter } from './event-store.js'
import type { FailedEventRepository } from './failed-event-repository.js'
import { nextTurn } from './next-turn.js'

/**
 * Large deletions (GDPR erasure of a long-lived user, retention purges) in many short transactions.
 *
 * Why: deleting events means rebuilding the rollups of every hour they fell in (uniques are sketches that
 * cannot forget one user), and that reads all of the project's events of those hours. Erasing a user seen
 * over 60 days rebuilt 1,440 hours in ONE transaction: 6.4 s during which SQLite's single writer (and, on
 * the main thread, the whole server) waited, and ingest answered 503. Here each transaction takes a slice
 * sized to last ~50 ms, and the event loop turns between slices, so ingest and reads interleave.
 *
 * The price: a deletion that fails part-way (database gone, disk full) has deleted some of the events and
 * answers an error; repeating it finishes the job (deletions are idempotent). Each slice is atomic — its
 * events and the rollups of its hours change together — so statistics never count a deleted event.
 */

/** What the store lends the deletion: its connection and the steps every deleting transaction takes. */
export interface DeletionContext {
  db: Kysely<Database>
  dialect: StoreDialect
  /** Runs first in each transaction (deferred rollups: count what is pending before rows disappear). */
  beforeDelete: (trx: Transaction<Database>) => Promise<void>
  /** Runs last in each transaction (deferred rollups: move the watermark past what was rebuilt). */
  afterDelete: (trx: Transaction<Database>) => Promise<void>
  /** Recomputes a project's rollups for the hours holding these timestamps (epoch ms). */
  rebuild: (trx: Transaction<Database>, projectId: string, timestampsMs: number[]) => Promise<void>
  failed: Pick<FailedEventRepository, 'deleteForPerson' | 'purgeOlderThan'>
}

/** Aim for transactions of about this long; the slice size follows what the last one took. */
const TARGET_MS = 50
/**
 * SQLite: the pause between slices. Another connection waiting for the lock (the write worker, a server
 * while `tally purge` runs) asks again every ≤ 10 ms (PatientConnection); with slices back to back it kept
 * missing the moment the lock was free, and ingest waited seconds. On PostgreSQL the next turn suffices.
 */
const SQLITE_GAP_MS = 15

function betweenSlices(dialect: StoreDialect): Promise<void> {
  return dialect.name === 'sqlite' ? new Promise((r) => setTimeout(r, SQLITE_GAP_MS)) : nextTurn()
}

/**
 * Slice sizes that follow the time the previous slice took: doubled below half the target, halved above
 * twice the target, within [min, max].
 */
export class AdaptiveSlice {
  #size: number
  constructor(
    initial: number,
    readonly min: number,
    readonly max: number,
  ) {
    this.#size = initial
  }
  get size(): number {
    return this.#size
  }
  took(ms: number): void {
    if (ms < TARGET_MS / 2) this.#size = Math.min(this.max, this.#size * 2)
    else if (ms > TARGET_MS * 2) this.#size = Math.max(this.min, Math.floor(this.#size / 2))
  }
}

interface PersonRow {
  id: string
  message_id: string
  hour: number | string | bigint
}

/** Rounds of "find what is left, delete it": a second round catches events ingested during the first. */
const MAX_ERASE_ROUNDS = 3

/**
 * Deletes the failed events whose payload names a person (`userId` and/or `anonymousId`) in `projectId`,
 * then every event of theirs, slice by slice of hours. Returns the counts deleted.
 */
export async function eraseInSlices(
  ctx: DeletionContext,
  projectId: string,
  filter: DeleteFilter,
): Promise<{ events: number; failedEvents: number }> {
  const { db, dialect } = ctx
  const person = (eb: any) =>
    eb.or([
      ...(filter.userId ? [eb('user_id', '=', filter.userId)] : []),
      ...(filter.anonymousId ? [eb('anonymous_id', '=', filter.anonymousId)] : []),
    ])
  // Failed events first: a replay running meanwhile either finds its failed event gone (and drops the event
  // it stored: replay-failed-events.ts) or stored the event before, where the rounds below find it.
  const failedEvents = await db
    .transaction()
    .execute((trx) => ctx.failed.deleteForPerson(trx, projectId, filter))
  let events = 0
  const slice = new AdaptiveSlice(4, 1, 24 * 31)
  for (let round = 0; round < MAX_ERASE_ROUNDS; round++) {
    // The person's events (then deleted by primary key, slice by slice).
    const rows = await findPersonRows(ctx, projectId, filter, person)
    if (rows.length === 0) break
    const byHour = new Map<number, PersonRow[]>()
    for (const r of rows) {
      const hour = Number(r.hour)
      const list = byHour.get(hour)
      if (list === undefined) byHour.set(hour, [r])
      else list.push(r)
    }
    const hours = [...byHour.keys()].sort((a, b) => a - b)
    for (let i = 0; i < hours.length; ) {
      const sliceHours = hours.slice(i, i + slice.size)
      i += sliceHours.length
      const sliceRows = sliceHours.flatMap((h) => byHour.get(h)!)
      const started = performance.now()
      events += await db.transaction().execute(async (trx) => {
        await lockProjectRollups(trx, dialect, [projectId])
        await ctx.beforeDelete(trx)
        const deleted = await deleteByIds(trx, dialect, projectId, sliceRows)
        await ctx.rebuild(trx, projectId, sliceHours)
        await ctx.afterDelete(trx)
        return deleted
      })
      slice.took(performance.now() - started)
      await betweenSlices(dialect)
    }
  }
  return { events, failedEvents }
}

/**
 * The ids, message ids and hours of a person's events. By `userId` alone: one read of the user index. With
 * an `anonymousId` (no index: one more random-order key would cost every insert) the project is scanned —
 * on SQLite, whose reads block the server's thread, in time windows of the project's time index sized to
 * ~50 ms each, the event loop turning between them (one scan of 900k events stalled the server ~0.9 s).
 */
async function findPersonRows(
  ctx: DeletionContext,
  projectId: string,
  filter: DeleteFilter,
  person: (eb: any) => any,
): Promise<PersonRow[]> {
  const { db, dialect } = ctx
  const select = () =>
    db
      .selectFrom('events')
      .select(['id', 'message_id', dialect.timeBucket('timestamp', 'hour').as('hour')])
      .where('project_id', '=', projectId)
      .where(person)
  if (!filter.anonymousId || dialect.name !== 'sqlite') return (await select().execute()) as PersonRow[]
  const span = await db
    .selectFrom('events')
    .select((eb) => [eb.fn.min('timestamp').as('first'), eb.fn.max('timestamp').as('last')])
    .where('project_id', '=', projectId)
    .executeTakeFirst()
  if (span?.first == null || span.last == null) return []
  const first = Date.parse(dialect.fromDbTime(span.first as never))
  const last = Date.parse(dialect.fromDbTime(span.last as never))
  const rows: PersonRow[] = []
  const window = new AdaptiveSlice(DAY_MS, HOUR_MS, 366 * DAY_MS)
  for (let from = first; from <= last; ) {
    const to = Math.min(from + window.size, last + 1)
    const started = performance.now()
    const found = (await select()
      .where('timestamp', '>=', dialect.toDbTime(new Date(from)))
      .where('timestamp', '<', dialect.toDbTime(new Date(to)))
      .execute()) as PersonRow[]
    for (const r of found) rows.push(r)
    window.took(performance.now() - started)
    from = to
    await nextTurn()
  }
  return rows
}

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

interface OldRow {
  id: string
  project_id: string
  message_id: string
  hour: number | string | bigint
}

/**
 * Retention: deletes the events received before `cutoff` (of one project, or all), oldest ids first
 * (ids are time-ordered, so each slice's read finds its rows at the start of the primary key), rebuilding
 * the rollups of each slice's hours in its transaction; then the failed events received before it.
 */
export async function purgeInSlices(
  ctx: DeletionContext,
  cutoff: Date,
  projectId: string | undefined,
): Promise<{ events: number; failedEvents: number }> {
  const { db, dialect } = ctx
  const before = dialect.toDbTime(cutoff)
  const slice = new AdaptiveSlice(1000, 100, 50_000)
  let events = 0
  for (;;) {
    const limit = slice.size
    const started = performance.now()
    const found = await db.transaction().execute(async (trx) => {
      await ctx.beforeDelete(trx)
      let q = trx
        .selectFrom('events')
        .select(['id', 'project_id', 'message_id', dialect.timeBucket('timestamp', 'hour').as('hour')])
        .where('received_at', '<', before)
      if (projectId !== undefined) {
        // Walk the primary key in id order, checking the project per row: with `project_id = ?` usable as
        // an index term, SQLite read all of the project's rows and sorted them, per slice (462 ms).
        q =
          dialect.name === 'sqlite'
            ? q.where(sql<string>`+project_id`, '=', projectId)
            : q.where('project_id', '=', projectId)
      }
      const rows = (await q.orderBy('id').limit(limit).execute()) as OldRow[]
      const byProject = new Map<string, OldRow[]>()
      for (const r of rows) {
        const list = byProject.get(r.project_id)
        if (list === undefined) byProject.set(r.project_id, [r])
        else list.push(r)
      }
      await lockProjectRollups(trx, dialect, byProject.keys())
      for (const [project, projectRows] of byProject) {
        // Whole hours: every event of the slice's hours that the purge deletes goes in this transaction,
        // so each hour is rebuilt once, atomically with its deletions. Slice by slice within one hour, each
        // rebuild re-read the rest of the hour: purging 20,000 events of one hour took 6.9 s.
        const hours = [...new Set(projectRows.map((r) => Number(r.hour)))]
        events += await deleteByIds(
          trx,
          dialect,
          project,
          await purgeableInHours(trx, dialect, project, hours, before),
        )
        await ctx.rebuild(trx, project, hours)
      }
      await ctx.afterDelete(trx)
      return rows.length
    })
    if (found < limit) break
    slice.took(performance.now() - started)
    await betweenSlices(dialect)
  }
  const failedEvents = await db
    .transaction()
    .execute((trx) => ctx.failed.purgeOlderThan(trx, cutoff, projectId))
  return { events, failedEvents }
}

/**
 * The events of `projectId` received before `before` whose timestamps fall in `hours` (each an hour's start,
 * epoch ms), read by the project's time index, one range per run of consecutive hours.
 */
async function purgeableInHours(
  trx: Transaction<Database>,
  dialect: StoreDialect,
  projectId: string,
  hours: readonly number[],
  before: ReturnType<StoreDialect['toDbTime']>,
): Promise<{ id: string; message_id: string }[]> {
  const sorted = [...hours].sort((a, b) => a - b)
  const out: { id: string; message_id: string }[] = []
  for (let i = 0; i < sorted.length; ) {
    let j = i
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + HOUR_MS) j++
    const rows = await trx
      .selectFrom('events')
      .select(['id', 'message_id'])
      .where('project_id', '=', projectId)
      .where('timestamp', '>=', dialect.toDbTime(sorted[i]))
      .where('timestamp', '<', dialect.toDbTime(sorted[j] + HOUR_MS))
      .where('received_at', '<', before)
      .execute()
    for (const r of rows) out.push(r)
    i = j + 1
  }
  return out
}

/** Deletes these events of `projectId` by id (and, where dedupe has its own table, their keys). */
async function deleteByIds(
  trx: Transaction<Database>,
  dialect: StoreDialect,
  projectId: string,
  rows: readonly { id: string; message_id: string }[],
): Promise<number> {
  let deleted = 0
  for (const chunk of chunkForParams(rows, 1, dialect.capabilities.maxBindParams - 1)) {
    if (!dialect.capabilities.dedupeOnEvents) {
      await trx
        .deleteFrom('event_dedupe')
        .where('project_id', '=', projectId)
        .where(
          'message_id',
          'in',
          chunk.map((r) => r.message_id),
        )
        .execute()
    }
    // By primary key alone: the ids were read under the project's filter, and with `project_id = ?` beside
    // them SQLite's planner walked the project's time index instead (35 ms per slice at 300k events).
    const r = await trx
      .deleteFrom('events')
      .where(
        'id',
        'in',
        chunk.map((r) => r.id),
      )
      .executeTakeFirst()
    deleted += Number(r.numDeletedRows)
  }
  return deleted
}
