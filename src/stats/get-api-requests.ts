import type { Kysely } from 'kysely'
import type { Database } from '../store/database.js'
import type { StoreDialect } from '../store/dialect.js'
import { getTimeseries, MAX_BUCKETS } from './get-timeseries.js'
import type { ApiRequestsParams } from './params.js'
import { readRollupInputs } from './read-raw-events.js'
import type { ApiRequestsResult } from './results.js'
import { aggregateEvents } from './rollups/aggregate-events.js'
import { ensureRollupsCurrent } from './rollups/catch-up-rollups.js'
import type { StatsTables } from './rollups/rollup-tables.js'
import { DEFAULT_RELATIVE_ACCURACY, LogHistogram } from './sketch/log-histogram.js'
import { asBytes, num, parseRange, planRange } from './stats-range.js'
import { HOUR_MS } from './time/time-buckets.js'

/** The finest throughput unit whose buckets over [from, to) stay within the timeseries limit. */
function defaultThroughputUnit(fromMs: number, toMs: number): 'hour' | 'day' | 'week' {
  const hours = (toMs - fromMs) / HOUR_MS
  if (hours <= MAX_BUCKETS - 2) return 'hour'
  if (hours / 24 <= MAX_BUCKETS - 2) return 'day'
  return 'week'
}

interface RouteAcc {
  method: string
  route: string
  count: number
  status4xx: number
  status5xx: number
  hist: LogHistogram
}

/**
 * Per `method + route` in [from, to): request count, 4xx and 5xx rates, and p50/p95/p99 of `durationMs`
 * (within 1% of the exact rank value), busiest routes first; plus throughput (requests per hour, day or
 * week bucket, empty buckets 0) over the whole buckets the range touches, as `getTimeseries` counts them;
 * `throughput.from`/`to` are the bucket edges. Answered from hourly rollups for any range (raw partial edge
 * hours).
 *
 * @example
 * await getApiRequests(db, dialect, 'p1', { from, to, unit: 'hour' })
 */
export async function getApiRequests(
  db: Kysely<Database>,
  dialect: StoreDialect,
  projectId: string,
  params: ApiRequestsParams,
): Promise<ApiRequestsResult> {
  const { fromMs, toMs } = parseRange(params)
  await ensureRollupsCurrent(db, dialect) // deferred rollups (SQLite): count every acknowledged event
  // The throughput first: a unit too fine for the range is refused before the routes are read (it was
  // refused after reading a year of them), and without a unit the finest that fits is used — the default
  // `hour` refused any range over 5,000 hours.
  const unit = params.unit ?? defaultThroughputUnit(fromMs, toMs)
  const series = await getTimeseries(db, dialect, projectId, {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    unit,
    timeZone: params.timeZone,
    types: ['api_request'],
  })
  const plan = planRange(fromMs, toMs)
  const routes = new Map<string, RouteAcc>()
  const acc = (method: string, route: string): RouteAcc => {
    const k = `${method}\u0000${route}`
    let a = routes.get(k)
    if (!a) {
      a = { method, route, count: 0, status4xx: 0, status5xx: 0, hist: new LogHistogram() }
      routes.set(k, a)
    }
    return a
  }

  const edge = aggregateEvents(
    await readRollupInputs(db, dialect, projectId, plan.raw, { types: ['api_request'] }),
  )
  for (const e of edge.api.values()) {
    const a = acc(e.method, e.route)
    a.count += e.count
    a.status4xx += e.status4xx
    a.status5xx += e.status5xx
    a.hist.merge(e.hist)
  }
  if (plan.toHour > plan.fromHour) {
    const rows = await db
      .withTables<StatsTables>()
      .selectFrom('stats_api')
      .select(['method', 'route', 'count', 'status_4xx', 'status_5xx', 'hist'])
      .where('project_id', '=', projectId)
      .where('hour', '>=', plan.fromHour)
      .where('hour', '<', plan.toHour)
      .execute()
    for (const r of rows) {
      const a = acc(r.method, r.route)
      a.count += num(r.count)
      a.status4xx += num(r.status_4xx)
      a.status5xx += num(r.status_5xx)
      a.hist.mergeSerialized(asBytes(r.hist))
    }
  }

  const sorted = [...routes.values()].sort(
    (a, b) => b.count - a.count || a.route.localeCompare(b.route) || a.method.localeCompare(b.method),
  )
  return {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    relativeAccuracy: DEFAULT_RELATIVE_ACCURACY,
    routes: sorted.slice(0, params.limit ?? 50).map((a) => ({
      method: a.method,
      route: a.route,
      count: a.count,
      rate4xx: a.count === 0 ? 0 : a.status4xx / a.count,
      rate5xx: a.count === 0 ? 0 : a.status5xx / a.count,
      p50: a.hist.quantile(0.5),
      p95: a.hist.quantile(0.95),
      p99: a.hist.quantile(0.99),
    })),
    throughput: {
      unit,
      timeZone: series.timeZone,
      from: series.from,
      to: series.to,
      buckets: series.buckets,
      counts: series.series[0].counts,
    },
  }
}
