import { type Kysely, sql } from 'kysely'
import type { Database } from '../../store/database.js'
import type { StoreDialect } from '../../store/dialect.js'
import { type RollupRow, toRollupInput } from '../read-raw-events.js'
import { aggregateEvents } from './aggregate-events.js'
import { writeAggregate } from './write-rollups.js'

/**
 * Deferred rollups, SQLite only.
 *
 * Why: maintaining the hourly rollups inside every insert transaction costs a read-merge-write of the
 * touched sketch rows per commit. With many small commits (single-event requests from browsers) that was
 * most of the write worker's time: a commit of 10 events took ~1.9 ms with rollups and ~0.8 ms without
 * (docs/storage.md, BENCHMARKS.md). So on SQLite the insert transaction only writes events, and the rollups
 * are brought up to date afterwards, many commits at a time.
 *
 * How it stays exact: `rollup_watermark.last_rowid` is the highest events `rowid` already counted. SQLite
 * has one writer at a time and gives each new row `max(rowid) + 1`, so rows committed later always have
 * larger rowids, and "everything above the mark" is exactly what is not counted yet. A catch-up reads those
 * rows in rowid order, adds them to the rollups and moves the mark in ONE transaction: a crash at any point
 * leaves rollups and mark consistent, and the next catch-up (any process, any time) resumes there.
 * Two rules keep the mark honest:
 *  - Statistics call `ensureRollupsCurrent` first, so a statistic never misses an acknowledged event.
 *  - A delete catches up first and then sets the mark to the largest rowid left: SQLite may hand a deleted
 *    top rowid out again, and that row must land above the mark (`resetRollupWatermark`).
 *
 * Each transaction starts with a write to the mark row, so it takes SQLite's write lock before it reads
 * (waiting out another connection's commit through the busy timeout instead of failing with a stale
 * snapshot).
 */

/** Rows added to the rollups per transaction: bounds memory and how long the write lock is held. */
export const CATCH_UP_CHUNK_ROWS = 5000

/** Rollup inputs need `properties` only for these types; other rows skip the JSON parse. */
const TYPES_WITH_ROLLUP_PROPERTIES = ['performance', 'api_request', 'interaction']

interface BacklogRow {
  mark: number | bigint
  top: number | bigint | null
}

/** The mark and the events table's largest rowid. */
export async function rollupBacklog(db: Kysely<Database>): Promise<{ mark: number; top: number }> {
  const r =
    await sql<BacklogRow>`select (select last_rowid from rollup_watermark where id = 1) as mark, (select max(rowid) from events) as top`.execute(
      db,
    )
  const row = r.rows[0]
  return { mark: Number(row?.mark ?? 0), top: Number(row?.top ?? 0) }
}

/** One chunk, in the caller's transaction: returns how many rows were added. */
async function catchUpChunk(trx: Kysely<Database>, dialect: StoreDialect, maxRows: number): Promise<number> {
  await sql`update rollup_watermark set last_rowid = last_rowid where id = 1`.execute(trx) // take the lock
  const { mark } = await rollupBacklog(trx)
  const wanted = sql.join(TYPES_WITH_ROLLUP_PROPERTIES.map((t) => sql.lit(t)))
  const rows = await sql<
    RollupRow & { rid: number; project_id: string; properties: string | null }
  >`select rowid as rid, project_id, type, name, timestamp as ts, user_id, anonymous_id, session_id,
       case when type in (${wanted}) then properties end as properties
     from events where rowid > ${mark} order by rowid limit ${maxRows}`.execute(trx)
  if (rows.rows.length === 0) return 0
  const inputs = rows.rows.map((r) =>
    toRollupInput(
      r.project_id,
      r,
      r.properties === null ? null : (dialect.fromDbJson(r.properties) as Record<string, unknown>),
    ),
  )
  await writeAggregate(trx, dialect, aggregateEvents(inputs))
  const last = rows.rows[rows.rows.length - 1].rid
  await sql`update rollup_watermark set last_rowid = ${last} where id = 1`.execute(trx)
  return rows.rows.length
}

/**
 * Adds every event above the mark to the rollups. Outside a transaction each chunk commits on its own (the
 * write lock is held one chunk at a time); inside one (`db.isTransaction`) all chunks join it. Returns the
 * number of events added. Call only on SQLite stores.
 *
 * @example
 * await catchUpRollups(store.db, store.storeDialect) // after a bulk import, before reading statistics
 */
export async function catchUpRollups(
  db: Kysely<Database>,
  dialect: StoreDialect,
  chunkRows = CATCH_UP_CHUNK_ROWS,
): Promise<number> {
  let total = 0
  for (;;) {
    const n = db.isTransaction
      ? await catchUpChunk(db, dialect, chunkRows)
      : await db.transaction().execute((trx) => catchUpChunk(trx, dialect, chunkRows))
    total += n
    if (n < chunkRows) return total
  }
}

/**
 * Brings the rollups up to date when events are waiting (a cheap check first). Statistics call it before
 * reading rollups, so they count every acknowledged event. A no-op on PostgreSQL, whose rollups are
 * maintained in the insert transaction.
 */
export async function ensureRollupsCurrent(db: Kysely<Database>, dialect: StoreDialect): Promise<void> {
  if (dialect.name !== 'sqlite') return
  const { mark, top } = await rollupBacklog(db)
  if (top > mark) await catchUpRollups(db, dialect)
  else if (top < mark) {
    // Rows were removed outside the store's delete paths (which reset the mark): lower the mark to what is
    // there, so rows SQLite numbers from `top + 1` on are counted. Guarded by the value read, so a row
    // committed meanwhile stays above the mark.
    await sql`update rollup_watermark set last_rowid = ${top} where id = 1 and last_rowid > ${top}`.execute(
      db,
    )
  }
}

/**
 * After a delete (in the same transaction, which caught up before deleting): every remaining row is
 * counted, so the mark becomes the largest remaining rowid. A row SQLite later gives a reused rowid then
 * lands above it.
 */
export async function resetRollupWatermark(trx: Kysely<Database>): Promise<void> {
  await sql`update rollup_watermark set last_rowid = (select coalesce(max(rowid), 0) from events) where id = 1`.execute(
    trx,
  )
}
