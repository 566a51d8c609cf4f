import type { Kysely } from 'kysely'
import type { Database } from '../../store/database.js'
import type { StoreDialect } from '../../store/dialect.js'
import { toEpochMs } from '../../store/dialect-base.js'
import { readRollupInputs } from '../read-raw-events.js'
import { HOUR_MS } from '../time/time-buckets.js'
import { aggregateEvents } from './aggregate-events.js'
import { STATS_TABLES } from './rollup-tables.js'
import { writeAggregate } from './write-rollups.js'

/** Hours re-aggregated per read, so a long rebuild never holds more than a day of events in memory. */
const REBUILD_CHUNK_HOURS = 24

/**
 * Recomputes the rollups of `projectId` for every hour that overlaps [from, to) from the events that are
 * still stored. Rollups only ever add, so after events are deleted (GDPR `deleteWhere`, retention
 * `purgeOlderThan`, `deleteEvent`) they over-count until this runs; the store calls it with the time span
 * of what it deleted. Cost: one scan of the remaining events in that span (cheap after a purge, which
 * empties it). Runs in its own transaction, or in the caller's when `db` is one.
 *
 * @example
 * await rebuildRollups(db, dialect, 'p1', { from: oldestDeleted, to: newestDeleted + 1 })
 */
export async function rebuildRollups(
  db: Kysely<Database>,
  dialect: StoreDialect,
  projectId: string,
  range: { from: string | Date | number; to: string | Date | number },
): Promise<void> {
  const fromHour = Math.floor(toEpochMs(range.from) / HOUR_MS)
  const toHour = Math.ceil(toEpochMs(range.to) / HOUR_MS)
  if (toHour <= fromHour) return
  const run = async (trx: Kysely<Database>) => {
    const anyDb = trx as unknown as Kysely<any>
    for (const table of STATS_TABLES) {
      await anyDb
        .deleteFrom(table)
        .where('project_id', '=', projectId)
        .where('hour', '>=', fromHour)
        .where('hour', '<', toHour)
        .execute()
    }
    for (let h = fromHour; h < toHour; h += REBUILD_CHUNK_HOURS) {
      const end = Math.min(toHour, h + REBUILD_CHUNK_HOURS)
      const inputs = await readRollupInputs(trx, dialect, projectId, [[h * HOUR_MS, end * HOUR_MS]])
      if (inputs.length > 0) await writeAggregate(trx, dialect, aggregateEvents(inputs))
    }
  }
  if (db.isTransaction) await run(db)
  else await db.transaction().execute(run)
}
