import type { Kysely, RawBuilder } from 'kysely'
import { AppError } from '../errors/app-error.js'
import type { Database } from '../store/database.js'
import type { StoreDialect } from '../store/dialect.js'
import { jsonGroupColumn, jsonGroupKey } from './group-key.js'
import type { PerformanceParams } from './params.js'
import { getPerformanceSeries } from './performance-series.js'
import { readRollupInputs } from './read-raw-events.js'
import type { PerformanceResult } from './results.js'
import { aggregateEvents, performanceValue } from './rollups/aggregate-events.js'
import { ensureRollupsCurrent } from './rollups/catch-up-rollups.js'
import type { StatsTables } from './rollups/rollup-tables.js'
import { DEFAULT_RELATIVE_ACCURACY, LogHistogram } from './sketch/log-histogram.js'
import { asBytes, assertScanRange, num, parseRange, planRange } from './stats-range.js'

interface MetricAcc {
  metric: string
  group: string | null
  count: number
  good: number
  needsImprovement: number
  poor: number
  hist: LogHistogram
}

function acc(map: Map<string, MetricAcc>, metric: string, group: string | null): MetricAcc {
  const k = group === null ? `${metric}\u0000` : `${metric}\u0000=${group}`
  let a = map.get(k)
  if (!a) {
    a = { metric, group, count: 0, good: 0, needsImprovement: 0, poor: 0, hist: new LogHistogram() }
    map.set(k, a)
  }
  return a
}

/**
 * Per performance metric (LCP, INP, CLS, …) in [from, to): count, p50/p75/p90/p95/p99 of `value` and the
 * rating distribution. Percentiles come from merged log-scale histograms: each is within 1% of the exact
 * value of rank ⌊q·(n−1)⌋, values in the metric's default unit (seconds read as ms, `performanceValue`).
 * Without `groupBy` any range is answered from hourly rollups (plus raw partial edge hours); `groupBy: path`
 * (context.page.path) or `property` scans the raw events (≤ 7 days) and keys the groups by `groupKey`.
 *
 * @example
 * await getPerformance(db, dialect, 'p1', { from, to, metrics: ['LCP'] })
 */
export async function getPerformance(
  db: Kysely<Database>,
  dialect: StoreDialect,
  projectId: string,
  params: PerformanceParams,
): Promise<PerformanceResult> {
  const { fromMs, toMs } = parseRange(params)
  if (params.unit && params.groupBy) {
    throw new AppError('validation_failed', 'unit (a series) cannot be combined with groupBy', {
      details: [{ path: '/unit', keyword: 'conflict', message: 'Drop groupBy, or ask for the series apart' }],
    })
  }
  await ensureRollupsCurrent(db, dialect) // deferred rollups (SQLite): count every acknowledged event
  const metrics = params.metrics?.length ? new Set(params.metrics) : null
  const out = new Map<string, MetricAcc>()

  if (params.groupBy) {
    assertScanRange(fromMs, toMs, `groupBy ${params.groupBy}`)
    let group: RawBuilder<unknown>
    if (params.groupBy === 'path') group = jsonGroupColumn(dialect, 'events.context', ['page', 'path'])
    else if (params.property) {
      const [root, ...path] = params.property.split('.')
      group = jsonGroupColumn(dialect, `events.${root}`, path)
    } else {
      throw new AppError('validation_failed', 'groupBy property needs a property path', {
        details: [
          { path: '/property', keyword: 'required', message: 'Set property, e.g. properties.navigationType' },
        ],
      })
    }
    let q = db
      .selectFrom('events')
      .select([
        'name',
        dialect.jsonExtract('events.properties', ['value'], 'number').as('value'),
        dialect.jsonExtract('events.properties', ['unit'], 'text').as('unit'),
        dialect.jsonExtract('events.properties', ['rating'], 'text').as('rating'),
        group.as('g'),
      ])
      .where('project_id', '=', projectId)
      .where('type', '=', 'performance')
      .where('timestamp', '>=', dialect.toDbTime(fromMs))
      .where('timestamp', '<', dialect.toDbTime(toMs))
    if (metrics) q = q.where('name', 'in', [...metrics])
    for (const r of await q.execute()) {
      const metric = r.name ?? ''
      const value =
        r.value === null || r.value === undefined ? null : performanceValue(metric, Number(r.value), r.unit)
      if (value === null) continue
      const a = acc(out, metric, jsonGroupKey(dialect, r.g))
      a.count++
      a.hist.add(value)
      if (r.rating === 'good') a.good++
      else if (r.rating === 'needs-improvement') a.needsImprovement++
      else if (r.rating === 'poor') a.poor++
    }
  } else {
    const plan = planRange(fromMs, toMs)
    const edge = aggregateEvents(
      await readRollupInputs(db, dialect, projectId, plan.raw, { types: ['performance'] }),
    )
    for (const p of edge.performance.values()) {
      if (metrics && !metrics.has(p.metric)) continue
      const a = acc(out, p.metric, null)
      a.count += p.count
      a.good += p.good
      a.needsImprovement += p.needsImprovement
      a.poor += p.poor
      a.hist.merge(p.hist)
    }
    if (plan.toHour > plan.fromHour) {
      let q = db
        .withTables<StatsTables>()
        .selectFrom('stats_performance')
        .select(['metric', 'count', 'good', 'needs_improvement', 'poor', 'hist'])
        .where('project_id', '=', projectId)
        .where('hour', '>=', plan.fromHour)
        .where('hour', '<', plan.toHour)
      if (metrics) q = q.where('metric', 'in', [...metrics])
      for (const r of await q.execute()) {
        const a = acc(out, r.metric, null)
        a.count += num(r.count)
        a.good += num(r.good)
        a.needsImprovement += num(r.needs_improvement)
        a.poor += num(r.poor)
        a.hist.mergeSerialized(asBytes(r.hist))
      }
    }
  }

  let rows = [...out.values()].sort(
    (a, b) =>
      a.metric.localeCompare(b.metric) || b.count - a.count || String(a.group).localeCompare(String(b.group)),
  )
  if (params.groupBy) {
    // Keep the largest groups of each metric.
    const kept = new Map<string, number>()
    rows = rows.filter((r) => {
      const n = kept.get(r.metric) ?? 0
      kept.set(r.metric, n + 1)
      return n < (params.limitGroups ?? 20)
    })
  }
  const series = params.unit
    ? await getPerformanceSeries(
        db,
        dialect,
        projectId,
        { fromMs, toMs },
        params.unit,
        params.timeZone ?? 'UTC',
        metrics,
      )
    : undefined
  return {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    source: params.groupBy ? 'scan' : 'rollup',
    relativeAccuracy: DEFAULT_RELATIVE_ACCURACY,
    ...(series ? { series } : {}),
    metrics: rows.map((a) => ({
      metric: a.metric,
      group: a.group,
      count: a.count,
      p50: a.hist.quantile(0.5),
      p75: a.hist.quantile(0.75),
      p90: a.hist.quantile(0.9),
      p95: a.hist.quantile(0.95),
      p99: a.hist.quantile(0.99),
      ratings: {
        good: a.good,
        needsImprovement: a.needsImprovement,
        poor: a.poor,
        unrated: a.count - a.good - a.needsImprovement - a.poor,
      },
    })),
  }
}
