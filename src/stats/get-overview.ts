import { type Kysely, sql } from 'kysely'
import type { Database } from '../store/database.js'
import type { StoreDialect } from '../store/dialect.js'
import type { OverviewParams } from './params.js'
import { readRollupInputs } from './read-raw-events.js'
import type { OverviewResult } from './results.js'
import { aggregateEvents } from './rollups/aggregate-events.js'
import { ensureRollupsCurrent } from './rollups/catch-up-rollups.js'
import type { StatsTables } from './rollups/rollup-tables.js'
import { HyperLogLog } from './sketch/hyper-log-log.js'
import { asBytes, num, parseRange, planRange } from './stats-range.js'

/** At or below this many events in the range, unique users and sessions are counted exactly. */
export const EXACT_UNIQUES_MAX_EVENTS = 20_000

/**
 * Totals, counts by type, the top event names, unique users and sessions of `projectId` in [from, to), and
 * the failed events received in [from, to) (receive time: a failed event may have no valid timestamp).
 * Counts are exact (hourly rollups plus the raw partial hours at the edges).
 * Unique counts are exact up to `EXACT_UNIQUES_MAX_EVENTS` events, else a HyperLogLog merge (σ = 1.6%).
 *
 * @example
 * await getOverview(db, dialect, 'p1', { from: '2026-11-20T00:00:00Z', to: '2026-11-27T00:00:00Z' })
 */
export async function getOverview(
  db: Kysely<Database>,
  dialect: StoreDialect,
  projectId: string,
  params: OverviewParams,
): Promise<OverviewResult> {
  const { fromMs, toMs } = parseRange(params)
  await ensureRollupsCurrent(db, dialect) // deferred rollups (SQLite): count every acknowledged event
  const plan = planRange(fromMs, toMs)
  const sdb = db.withTables<StatsTables>()

  const edge = aggregateEvents(
    await readRollupInputs(db, dialect, projectId, plan.raw, { withProperties: false }),
  )
  const byKey = new Map<string, { type: string; name: string; count: number }>()
  for (const c of edge.counts.values()) {
    const k = `${c.type}\u0000${c.name}`
    const prev = byKey.get(k)
    if (prev) prev.count += c.count
    else byKey.set(k, { type: c.type, name: c.name, count: c.count })
  }
  if (plan.toHour > plan.fromHour) {
    const rows = await sdb
      .selectFrom('stats_counts')
      .select(['type', 'name', (eb) => eb.fn.sum<number>('count').as('count')])
      .where('project_id', '=', projectId)
      .where('hour', '>=', plan.fromHour)
      .where('hour', '<', plan.toHour)
      .groupBy(['type', 'name'])
      .execute()
    for (const r of rows) {
      const k = `${r.type}\u0000${r.name}`
      const prev = byKey.get(k)
      if (prev) prev.count += num(r.count)
      else byKey.set(k, { type: r.type, name: r.name, count: num(r.count) })
    }
  }

  let total = 0
  const byType = new Map<string, number>()
  for (const v of byKey.values()) {
    total += v.count
    byType.set(v.type, (byType.get(v.type) ?? 0) + v.count)
  }
  const sortDesc = <T extends { count: number }>(a: T, b: T, tie: (x: T) => string) =>
    b.count - a.count || (tie(a) < tie(b) ? -1 : tie(a) > tie(b) ? 1 : 0)
  const topNames = [...byKey.values()]
    .filter((v) => v.name !== '')
    .sort((a, b) => sortDesc(a, b, (x) => `${x.type}\u0000${x.name}`))
    .slice(0, params.topNames ?? 10)
    .map((v) => ({ type: v.type, name: v.name, count: v.count }))

  let uniqueUsers: OverviewResult['uniqueUsers']
  let uniqueSessions: OverviewResult['uniqueSessions']
  if (total <= EXACT_UNIQUES_MAX_EVENTS) {
    const row = await db
      .selectFrom('events')
      .select([
        sql<number>`count(distinct coalesce(user_id, anonymous_id))`.as('users'),
        sql<number>`count(distinct session_id)`.as('sessions'),
      ])
      .where('project_id', '=', projectId)
      .where('timestamp', '>=', dialect.toDbTime(fromMs))
      .where('timestamp', '<', dialect.toDbTime(toMs))
      .executeTakeFirstOrThrow()
    uniqueUsers = { value: num(row.users), exact: true }
    uniqueSessions = { value: num(row.sessions), exact: true }
  } else {
    const users = new HyperLogLog()
    const sessions = new HyperLogLog()
    for (const u of edge.uniques.values()) {
      users.merge(u.users)
      sessions.merge(u.sessions)
    }
    const rows = await sdb
      .selectFrom('stats_uniques')
      .select(['users', 'sessions'])
      .where('project_id', '=', projectId)
      .where('hour', '>=', plan.fromHour)
      .where('hour', '<', plan.toHour)
      .execute()
    for (const r of rows) {
      users.mergeSerialized(asBytes(r.users))
      sessions.mergeSerialized(asBytes(r.sessions))
    }
    uniqueUsers = { value: users.estimate(), exact: false }
    uniqueSessions = { value: sessions.estimate(), exact: false }
  }

  const failed = await db
    .selectFrom('failed_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('project_id', '=', projectId)
    .where('received_at', '>=', dialect.toDbTime(fromMs))
    .where('received_at', '<', dialect.toDbTime(toMs))
    .executeTakeFirstOrThrow()

  return {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    total,
    byType: [...byType]
      .map(([type, count]) => ({ type, count }))
      .sort((a, b) => sortDesc(a, b, (x) => x.type)),
    topNames: topNames.map((v) => ({ ...v, name: v.name })),
    uniqueUsers,
    uniqueSessions,
    failedEvents: num(failed.n),
  }
}
