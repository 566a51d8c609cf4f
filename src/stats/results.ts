import { type Static, Type } from '@sinclair/typebox'

/**
 * Results of the statistics functions, as TypeBox schemas (response schemas for the HTTP stage).
 * Percentiles are estimates within `relativeAccuracy` (1%) of the exact rank value; unique counts are exact
 * when `exact` is true and a HyperLogLog estimate (standard error 1.6%) otherwise. See docs/statistics.md.
 */
const Iso = Type.String({ format: 'date-time' })
const Count = Type.Integer({ minimum: 0 })
const Quantile = Type.Union([Type.Number(), Type.Null()], { description: 'null when there are no values.' })
/** How a JSON value (groupBy property, path) is reported as a group key; docs/statistics.md. */
const JSON_GROUP_KEY =
  'A property value: a string as its text unless that text is itself JSON (then its JSON string literal: ' +
  'string "10" is `"10"`), any other value as canonical JSON (sorted keys, no spaces: number 10 is `10`). ' +
  'A key that parses as JSON is that value, any other key a string.'
/** Where an answer came from: hourly rollups (any range) or a scan of the raw events (bounded range). */
export const StatsSource = Type.Union([Type.Literal('rollup'), Type.Literal('scan')])
const Unique = Type.Object({
  value: Count,
  exact: Type.Boolean({ description: 'true: COUNT(DISTINCT); false: HyperLogLog estimate (σ = 1.6%).' }),
})

export const OverviewResultSchema = Type.Object(
  {
    from: Iso,
    to: Iso,
    total: Count,
    byType: Type.Array(Type.Object({ type: Type.String(), count: Count })),
    topNames: Type.Array(
      Type.Object({ type: Type.String(), name: Type.Union([Type.String(), Type.Null()]), count: Count }),
    ),
    uniqueUsers: Unique,
    uniqueSessions: Unique,
    failedEvents: Type.Integer({
      minimum: 0,
      description:
        'Failed events received in [from, to): by receive time, since a failed event may have no valid timestamp.',
    }),
  },
  { $id: 'tally/stats/OverviewResult' },
)
export type OverviewResult = Static<typeof OverviewResultSchema>

export const TimeseriesResultSchema = Type.Object(
  {
    from: Iso,
    to: Iso,
    unit: Type.String(),
    timeZone: Type.String(),
    source: StatsSource,
    /** Start of each bucket; the range is widened to whole buckets. */
    buckets: Type.Array(Iso),
    series: Type.Array(
      Type.Object({
        key: Type.Union([Type.String(), Type.Null()], {
          description: `Group value; null: ungrouped, missing or JSON null. groupBy property: ${JSON_GROUP_KEY}`,
        }),
        total: Count,
        counts: Type.Array(Count, { description: 'One count per bucket, empty buckets as 0.' }),
      }),
    ),
    groupsTruncated: Type.Boolean(),
  },
  { $id: 'tally/stats/TimeseriesResult' },
)
export type TimeseriesResult = Static<typeof TimeseriesResultSchema>

const Percentiles = {
  p50: Quantile,
  p75: Quantile,
  p90: Quantile,
  p95: Quantile,
  p99: Quantile,
}

/** Percentiles per time bucket, one array entry per bucket (null where the bucket holds no value). */
export const PerformanceSeriesSchema = Type.Object({
  unit: Type.String(),
  timeZone: Type.String(),
  buckets: Type.Array(Iso, { description: 'Start of each bucket; the last ends at the next unit boundary.' }),
  metrics: Type.Array(
    Type.Object({
      metric: Type.String(),
      counts: Type.Array(Count),
      p50: Type.Array(Quantile),
      p75: Type.Array(Quantile),
      p90: Type.Array(Quantile),
      p95: Type.Array(Quantile),
      p99: Type.Array(Quantile),
    }),
  ),
})
export type PerformanceSeries = Static<typeof PerformanceSeriesSchema>

export const PerformanceResultSchema = Type.Object(
  {
    from: Iso,
    to: Iso,
    source: StatsSource,
    relativeAccuracy: Type.Number(),
    series: Type.Optional(PerformanceSeriesSchema),
    metrics: Type.Array(
      Type.Object({
        metric: Type.String({
          description:
            "Percentiles are in the metric's default unit (score for CLS, else ms; seconds are converted).",
        }),
        group: Type.Union([Type.String(), Type.Null()], {
          description: `The groupBy value; null: ungrouped, missing or JSON null. ${JSON_GROUP_KEY}`,
        }),
        count: Count,
        ...Percentiles,
        ratings: Type.Object({ good: Count, needsImprovement: Count, poor: Count, unrated: Count }),
      }),
    ),
  },
  { $id: 'tally/stats/PerformanceResult' },
)
export type PerformanceResult = Static<typeof PerformanceResultSchema>

export const ApiRequestsResultSchema = Type.Object(
  {
    from: Iso,
    to: Iso,
    relativeAccuracy: Type.Number(),
    routes: Type.Array(
      Type.Object({
        method: Type.String(),
        route: Type.String(),
        count: Count,
        rate4xx: Type.Number({ minimum: 0, maximum: 1 }),
        rate5xx: Type.Number({ minimum: 0, maximum: 1 }),
        p50: Quantile,
        p95: Quantile,
        p99: Quantile,
      }),
    ),
    throughput: Type.Object(
      {
        unit: Type.String(),
        timeZone: Type.String(),
        from: Type.String({
          format: 'date-time',
          description: 'Start of the first bucket (at or before `from`).',
        }),
        to: Type.String({ format: 'date-time', description: 'End of the last bucket (at or after `to`).' }),
        buckets: Type.Array(Iso, { description: 'Start of each bucket.' }),
        counts: Type.Array(Count),
      },
      {
        description:
          'Requests per bucket over the whole buckets [from, to) the range touches, as in the time series: ' +
          'requests before the range but in its first bucket (or after it but in its last) are counted.',
      },
    ),
  },
  { $id: 'tally/stats/ApiRequestsResult' },
)
export type ApiRequestsResult = Static<typeof ApiRequestsResultSchema>

export const InteractionsResultSchema = Type.Object(
  {
    from: Iso,
    to: Iso,
    actions: Type.Array(
      Type.Object({
        action: Type.String(),
        count: Count,
        targets: Type.Array(
          Type.Object({
            target: Type.String({ description: "Selector, else tag#id, else tag; '' when unknown." }),
            count: Count,
            uniqueUsers: Unique,
          }),
        ),
      }),
    ),
  },
  { $id: 'tally/stats/InteractionsResult' },
)
export type InteractionsResult = Static<typeof InteractionsResultSchema>
