import {
  type Expression,
  type Kysely,
  type RawBuilder,
  type SelectQueryBuilder,
  type SqlBool,
  sql,
} from 'kysely'
import { AppError } from '../errors/app-error.js'
import type { Database } from '../store/database.js'
import type { StoreDialect } from '../store/dialect.js'
import { nextTurn } from '../store/next-turn.js'
import { jsonGroupColumn, jsonGroupKey } from './group-key.js'
import type { TimeseriesParams } from './params.js'
import type { MsRange } from './read-raw-events.js'
import type { TimeseriesResult } from './results.js'
import { ensureRollupsCurrent } from './rollups/catch-up-rollups.js'
import type { StatsTables } from './rollups/rollup-tables.js'
import { assertScanRange, bucketIndex, num, parseRange } from './stats-range.js'
import { assertTimeZone, bucketEdges, HOUR_MS } from './time/time-buckets.js'

/** Most buckets one time series may have. */
export const MAX_BUCKETS = 5_000
const RANGES_PER_QUERY = 50
/** Scan queries between two turns of the event loop. */
const YIELD_EVERY_QUERIES = 20

type Add = (key: string | null, bucket: number, n: number) => void

/**
 * Event counts per `minute | hour | day | week` bucket in [from, to) widened to whole buckets, optionally
 * filtered by types/names and split by name, type or a property. Empty buckets are 0. Day and week buckets
 * follow `timeZone` (DST-correct: a local day can last 23 or 25 hours).
 *
 * Source: hour/day/week without a property groupBy read the hourly rollups (any range). In zones whose
 * local midnight is not on a UTC hour (e.g. Asia/Kolkata) the hours that hold a bucket edge are counted
 * from the raw events instead. `unit: minute` and `groupBy: property` scan the raw events: [from, to) may
 * span at most 7 days, and the scan reads the whole buckets that range touches. A property's groups are
 * keyed by `groupKey` (JSON types apart, the same on both databases).
 *
 * @example
 * await getTimeseries(db, dialect, 'p1', { from, to, unit: 'day', timeZone: 'Europe/Berlin', groupBy: 'name' })
 */
export async function getTimeseries(
  db: Kysely<Database>,
  dialect: StoreDialect,
  projectId: string,
  sent: TimeseriesParams,
): Promise<TimeseriesResult> {
  const params = { ...sent, unit: sent.unit ?? 'day' }
  // A minute series over the default 7 days would be 10,080 buckets: default to the last 6 hours instead.
  const { fromMs, toMs } = parseRange(params, params.unit === 'minute' ? 6 * HOUR_MS : undefined)
  await ensureRollupsCurrent(db, dialect) // deferred rollups (SQLite): count every acknowledged event
  const timeZone = params.timeZone ?? 'UTC'
  assertTimeZone(timeZone)
  if (params.property !== undefined && params.groupBy !== 'property') {
    throw new AppError('validation_failed', 'property is only used with groupBy property', {
      details: [
        { path: '/property', keyword: 'unused', message: 'Set groupBy=property, or leave property out' },
      ],
    })
  }
  if (params.groupBy === 'property' && !params.property) {
    throw new AppError('validation_failed', 'groupBy property needs a property path', {
      details: [{ path: '/property', keyword: 'required', message: 'Set property, e.g. properties.plan' }],
    })
  }
  const edges = bucketEdges(fromMs, toMs, params.unit, timeZone, MAX_BUCKETS)
  const start = edges[0]
  const end = edges[edges.length - 1]
  const counts = new Map<string | null, number[]>()
  const add: Add = (key, bucket, n) => {
    if (bucket < 0) return
    let c = counts.get(key)
    if (!c) {
      c = new Array(edges.length - 1).fill(0)
      counts.set(key, c)
    }
    c[bucket] += n
  }

  const scan = params.groupBy === 'property' || params.unit === 'minute'
  // Groups a scan left unread (beyond the answer's): the answer is cut even if every group read is in it.
  let moreGroups = false
  if (scan) {
    // The limit applies to the range asked for; the scan then reads the whole buckets it touches.
    assertScanRange(fromMs, toMs, params.unit === 'minute' ? 'A minute time series' : 'groupBy property')
    const topGroups = params.groupBy ? (params.limitGroups ?? 20) : undefined
    const scanned = await scanCounts(db, dialect, projectId, params, edges, [[start, end]], add, topGroups)
    moreGroups = scanned.moreGroups
  } else {
    const splitHours = new Set(edges.filter((e) => e % HOUR_MS !== 0).map((e) => Math.floor(e / HOUR_MS)))
    await rollupCounts(db, projectId, params, edges, splitHours, add)
    if (splitHours.size > 0) {
      const ranges = [...splitHours]
        .sort((a, b) => a - b)
        .map((h): MsRange => [h * HOUR_MS, (h + 1) * HOUR_MS])
      await scanCounts(db, dialect, projectId, params, edges, ranges, add)
    }
  }

  const all = [...counts].map(([key, c]) => ({ key, counts: c, total: c.reduce((s, n) => s + n, 0) }))
  all.sort((a, b) => b.total - a.total || String(a.key).localeCompare(String(b.key)))
  const limit = params.groupBy ? (params.limitGroups ?? 20) : 1
  const series = params.groupBy
    ? all.slice(0, limit)
    : [all[0] ?? { key: null, counts: new Array(edges.length - 1).fill(0), total: 0 }]
  return {
    from: new Date(start).toISOString(),
    to: new Date(end).toISOString(),
    unit: params.unit,
    timeZone,
    source: scan ? 'scan' : 'rollup',
    buckets: edges.slice(0, -1).map((e) => new Date(e).toISOString()),
    series,
    groupsTruncated: all.length > series.length || moreGroups,
  }
}

async function rollupCounts(
  db: Kysely<Database>,
  projectId: string,
  params: TimeseriesParams,
  edges: readonly number[],
  splitHours: ReadonlySet<number>,
  add: Add,
): Promise<void> {
  const sdb = db.withTables<StatsTables>()
  const groupCol = params.groupBy === 'name' ? 'name' : params.groupBy === 'type' ? 'type' : null
  let q = sdb
    .selectFrom('stats_counts')
    .select(['hour', (eb) => eb.fn.sum<number>('count').as('n')])
    .where('project_id', '=', projectId)
    .where('hour', '>=', Math.floor(edges[0] / HOUR_MS))
    .where('hour', '<', Math.ceil(edges[edges.length - 1] / HOUR_MS))
    .groupBy('hour')
  if (params.types?.length) q = q.where('type', 'in', params.types)
  if (params.names?.length) q = q.where('name', 'in', params.names)
  const rows = groupCol ? await q.select(groupCol).groupBy(groupCol).execute() : await q.execute()
  for (const r of rows) {
    const hour = Number(r.hour)
    if (splitHours.has(hour)) continue
    const raw = groupCol ? (r as Record<string, unknown>)[groupCol] : null
    const key = raw === null || raw === '' ? null : String(raw)
    add(key, bucketIndex(edges, hour * HOUR_MS), num(r.n))
  }
}

/**
 * Counts raw events in `ranges`, grouped by a sub-bucket fine enough that every sub-bucket lies in one
 * bucket (an hour when all edges share the same minute-of-hour, else a minute), then maps sub-buckets to
 * buckets in JS.
 *
 * With `topGroups` (a grouped series), only the groups the answer holds are read. The database ranks the
 * groups by count and returns the first `GROUP_CANDIDATES(topGroups)`; those are merged by their key here
 * (values the database keeps apart but that are one group: an object's keys in another order on SQLite,
 * JSON null and no value) and ranked as the whole answer is (count, then key); the series rows read are
 * those of the candidates, and only the chosen groups are counted. Reading every group's series first
 * held one array of buckets per distinct value: 1M distinct values over two days by minute took 4.2 GB
 * and 15 s, for a 20-group answer. Returns whether groups were left out beyond the ones counted. */
async function scanCounts(
  db: Kysely<Database>,
  dialect: StoreDialect,
  projectId: string,
  params: TimeseriesParams,
  edges: readonly number[],
  ranges: readonly MsRange[],
  add: Add,
  topGroups?: number,
): Promise<{ moreGroups: boolean }> {
  const phases = new Set(edges.map((e) => ((e % HOUR_MS) + HOUR_MS) % HOUR_MS))
  const byHour = params.unit !== 'minute' && phases.size === 1 && ranges.length === 1
  const sub = byHour
    ? dialect.timeBucket('events.timestamp', 'hour', -[...phases][0] / 60_000)
    : dialect.timeBucket('events.timestamp', 'minute')
  let key: RawBuilder<unknown> | null = null
  let json: RawBuilder<unknown> | null = null
  if (params.groupBy === 'name') key = sql`events.name`
  else if (params.groupBy === 'type') key = sql`events.type`
  else if (params.groupBy === 'property' && params.property) {
    const [root, ...path] = params.property.split('.')
    json = jsonGroupColumn(dialect, `events.${root}`, path)
  }
  const groupExpr = json ?? key
  type EventsQuery<O> = SelectQueryBuilder<Database, 'events', O>
  const filtered = <O>(q: EventsQuery<O>, part: readonly MsRange[]): EventsQuery<O> => {
    let out = q
      .where('project_id', '=', projectId)
      .where((eb) =>
        eb.or(
          part.map(
            ([from, to]): Expression<SqlBool> =>
              eb.and([
                eb('timestamp', '>=', dialect.toDbTime(from)),
                eb('timestamp', '<', dialect.toDbTime(to)),
              ]),
          ),
        ),
      )
    if (params.types?.length) out = out.where('type', 'in', params.types)
    if (params.names?.length) out = out.where('name', 'in', params.names)
    return out
  }
  let onlyTop: (<O>(q: EventsQuery<O>) => EventsQuery<O>) | null = null
  let chosen: Set<string | null> | null = null
  let moreGroups = false
  const groupOf = (k: unknown) =>
    json ? jsonGroupKey(dialect, k) : k === undefined || k === null ? null : String(k)
  if (topGroups !== undefined && groupExpr !== null && ranges.length === 1) {
    const candidates = groupCandidates(topGroups)
    const ranked = () =>
      filtered(db.selectFrom('events'), ranges)
        .select([groupExpr.as('k'), (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy(sql`1`)
        .orderBy(sql`count(*)`, 'desc')
        .limit(candidates)
    const rows = await ranked().execute()
    const totals = new Map<string | null, number>()
    for (const r of rows) {
      const key = groupOf((r as { k?: unknown }).k)
      totals.set(key, (totals.get(key) ?? 0) + num(r.n))
    }
    const order = [...totals].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])))
    chosen = new Set(order.slice(0, topGroups).map(([key]) => key))
    moreGroups = order.length > topGroups || rows.length === candidates
    // NULL (events without the value) is a group too, and `IN` never matches it: asked for apart.
    const withNull = rows.some((r) => (r as { k?: unknown }).k == null)
    onlyTop = <O>(q: EventsQuery<O>): EventsQuery<O> =>
      q.where((eb) => {
        const inTop = eb(groupExpr, 'in', ranked().clearSelect().select(groupExpr.as('k')))
        return withNull ? eb.or([inTop, eb(groupExpr, 'is', null)]) : inTop
      })
  }
  // SQLite answers an OR of many time ranges by reading the project's every row for each query (a day
  // series in a UTC+5:45 zone over 13 years took 15 s, blocking the server): one indexed range per query
  // there, with the event loop given back every few queries. PostgreSQL ORs index scans.
  const perQuery = dialect.name === 'sqlite' ? 1 : RANGES_PER_QUERY
  for (let i = 0; i < ranges.length; i += perQuery) {
    if (i > 0 && i % (perQuery * YIELD_EVERY_QUERIES) === 0) await nextTurn()
    const part = ranges.slice(i, i + perQuery)
    let q = filtered(
      db.selectFrom('events').select([sub.as('sub'), (eb) => eb.fn.countAll<number>().as('n')]),
      part,
    )
    if (onlyTop !== null) q = onlyTop(q)
    // GROUP BY position: PostgreSQL would not match a bound JSON path in SELECT with its copy in GROUP BY.
    // A property groups by its JSON value, keyed in JS (`jsonGroupKey`): rows the databases keep apart
    // but that share a key (an object's keys in another order on SQLite) add up in `add`.
    const rows = json
      ? await q.select(json.as('k')).groupBy([sql`1`, sql`3`]).execute()
      : key
        ? await q.select(key.as('k')).groupBy([sql`1`, sql`3`]).execute()
        : await q.groupBy(sql`1`).execute()
    for (const r of rows) {
      const group = groupOf((r as { k?: unknown }).k)
      if (chosen !== null && !chosen.has(group)) continue
      add(group, bucketIndex(edges, Number(r.sub)), num(r.n))
    }
  }
  return { moreGroups }
}

/**
 * How many of the database's top groups a grouped scan reads to choose `topGroups` of them: enough that
 * groups split in the database (merged here) and ties at the cut are decided here, by key, as a full read
 * would; bounded, so the candidates' series stay small.
 */
function groupCandidates(topGroups: number): number {
  return Math.max(1_000, topGroups * 50)
}
