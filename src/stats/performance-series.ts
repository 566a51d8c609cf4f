import type { Kysely } from 'kysely'
import type { Database } from '../store/database.js'
import type { StoreDialect } from '../store/dialect.js'
import { nextTurn } from '../store/next-turn.js'
import type { PerformanceSeriesUnit } from './params.js'
import { type MsRange, readRollupInputs } from './read-raw-events.js'
import type { PerformanceSeries } from './results.js'
import { aggregateEvents } from './rollups/aggregate-events.js'
import type { StatsTables } from './rollups/rollup-tables.js'
import { LogHistogram } from './sketch/log-histogram.js'
import { asBytes, bucketIndex, num } from './stats-range.js'
import { assertTimeZone, bucketEdges, HOUR_MS } from './time/time-buckets.js'

/** Hours cut by a bucket edge read by one query on PostgreSQL (an OR of their ranges). */
const SPLIT_HOURS_PER_QUERY = 50

/** Most buckets one series may have (a year of hours is 8,760; of days 365). */
export const MAX_SERIES_BUCKETS = 9_000

interface MetricBuckets {
  counts: number[]
  hists: (LogHistogram | null)[]
}

/**
 * Percentiles of each performance metric per time bucket — "p75 LCP per day" — from the hourly rollup
 * histograms, exact to the same 1% as the range figures. Buckets are whole `unit`s in `timeZone` (DST-correct
 * days and weeks) covering [from, to), as in `getTimeseries`. An hour an edge splits (a time zone whose
 * offset is not whole hours) is read from the raw events, each side of the edge apart.
 */
export async function getPerformanceSeries(
  db: Kysely<Database>,
  dialect: StoreDialect,
  projectId: string,
  range: { fromMs: number; toMs: number },
  unit: PerformanceSeriesUnit,
  timeZone: string,
  metrics: ReadonlySet<string> | null,
): Promise<PerformanceSeries> {
  assertTimeZone(timeZone)
  const edges = bucketEdges(range.fromMs, range.toMs, unit, timeZone, MAX_SERIES_BUCKETS)
  const byMetric = new Map<string, MetricBuckets>()
  const bucketsOf = (metric: string) => {
    let m = byMetric.get(metric)
    if (m === undefined) {
      m = { counts: new Array(edges.length - 1).fill(0), hists: new Array(edges.length - 1).fill(null) }
      byMetric.set(metric, m)
    }
    return m
  }
  const histOf = (m: MetricBuckets, bucket: number) => {
    let h = m.hists[bucket]
    if (h === null) {
      h = new LogHistogram()
      m.hists[bucket] = h
    }
    return h
  }

  // Hours cut by an edge come from the raw events, one range per side; every other hour from the rollups.
  const splitHours = new Set(edges.filter((e) => e % HOUR_MS !== 0).map((e) => Math.floor(e / HOUR_MS)))
  const fromHour = Math.ceil(edges[0] / HOUR_MS)
  const toHour = Math.floor(edges[edges.length - 1] / HOUR_MS)
  if (toHour > fromHour) {
    let q = db
      .withTables<StatsTables>()
      .selectFrom('stats_performance')
      .select(['hour', 'metric', 'count', 'hist'])
      .where('project_id', '=', projectId)
      .where('hour', '>=', fromHour)
      .where('hour', '<', toHour)
    if (metrics) q = q.where('metric', 'in', [...metrics])
    for (const r of await q.execute()) {
      const hour = num(r.hour)
      if (splitHours.has(hour)) continue
      const bucket = bucketIndex(edges, hour * HOUR_MS)
      if (bucket < 0) continue
      const m = bucketsOf(r.metric)
      m.counts[bucket] += num(r.count)
      histOf(m, bucket).mergeSerialized(asBytes(r.hist))
    }
  }
  // Each split hour is read whole and its events put in their buckets by timestamp. A day series in a zone
  // off the hour (Asia/Kathmandu) over 24 years has 9,000 such hours: on PostgreSQL one round trip for
  // each side of each edge took 7–8 s; ORed 50 hours to a query it is a few hundred ms. SQLite keeps one
  // indexed range per query (an OR reads every row of the project there).
  const hours = [...splitHours].sort((a, b) => a - b)
  const perQuery = dialect.name === 'sqlite' ? 1 : SPLIT_HOURS_PER_QUERY
  for (let i = 0; i < hours.length; i += perQuery) {
    // Thousands of small reads for a long series in a zone off the hour: let other requests run.
    if (i > 0 && i % (perQuery * 20) === 0) await nextTurn()
    const ranges = hours.slice(i, i + perQuery).map((h): MsRange => [h * HOUR_MS, (h + 1) * HOUR_MS])
    const inputs = await readRollupInputs(db, dialect, projectId, ranges, {
      types: ['performance'],
      rangesPerQuery: perQuery,
    })
    const byBucket = new Map<number, typeof inputs>()
    for (const input of inputs) {
      const bucket = bucketIndex(edges, Number(input.timestamp))
      if (bucket < 0) continue
      const list = byBucket.get(bucket)
      if (list === undefined) byBucket.set(bucket, [input])
      else list.push(input)
    }
    for (const [bucket, list] of byBucket) {
      for (const p of aggregateEvents(list).performance.values()) {
        if (metrics && !metrics.has(p.metric)) continue
        const m = bucketsOf(p.metric)
        m.counts[bucket] += p.count
        histOf(m, bucket).merge(p.hist)
      }
    }
  }

  const quantiles = (m: MetricBuckets, q: number) => m.hists.map((h) => (h === null ? null : h.quantile(q)))
  return {
    unit,
    timeZone,
    buckets: edges.slice(0, -1).map((e) => new Date(e).toISOString()),
    metrics: [...byMetric]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([metric, m]) => ({
        metric,
        counts: m.counts,
        p50: quantiles(m, 0.5),
        p75: quantiles(m, 0.75),
        p90: quantiles(m, 0.9),
        p95: quantiles(m, 0.95),
        p99: quantiles(m, 0.99),
      })),
  }
}
