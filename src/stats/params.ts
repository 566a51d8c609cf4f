import { type Static, Type } from '@sinclair/typebox'
import { EVENT_TYPES } from '../schema/event-types.js'
import { TIME_UNITS } from '../store/dialect.js'

/**
 * Parameters of the statistics functions, as TypeBox schemas (the HTTP stage turns them into querystring
 * schemas and OpenAPI). Every range is half-open: `from` inclusive, `to` exclusive, on the event timestamp.
 */
const From = Type.Optional(
  Type.String({
    format: 'date-time',
    description:
      'Inclusive start of the range (event timestamp). Default: 7 days before `to` (6 hours for minute buckets).',
  }),
)
const To = Type.Optional(
  Type.String({ format: 'date-time', description: 'Exclusive end of the range. Default: now.' }),
)
const TimeZone = Type.String({
  maxLength: 64,
  default: 'UTC',
  description:
    'IANA time zone for day and week buckets, e.g. Europe/Berlin. Minute and hour buckets are UTC.',
})
/** A property path: `properties.x`, `context.page.path`, `traits.plan` (the EventQuery path rules). */
export const PropertyPath = Type.String({
  pattern: '^(properties|context|traits)(\\.[A-Za-z0-9_$-]{1,64}){1,8}$',
  maxLength: 600,
  description: 'properties.x.y, context.x.y or traits.x (keys: letters, digits, _ $ -).',
})
const Names = Type.Array(Type.String({ maxLength: 200 }), { maxItems: 100 })

export const StatsRangeSchema = Type.Object({ from: From, to: To }, { additionalProperties: false })
export type StatsRange = Static<typeof StatsRangeSchema>

/** @example { "from": "2026-11-20T00:00:00Z", "to": "2026-11-27T00:00:00Z", "topNames": 10 } */
export const OverviewParamsSchema = Type.Object(
  {
    from: From,
    to: To,
    topNames: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'How many names.' }),
    ),
  },
  { $id: 'tally/stats/OverviewParams', additionalProperties: false },
)
export type OverviewParams = Static<typeof OverviewParamsSchema>

/**
 * `groupBy: property` and `unit: minute` read the raw events (range at most 7 days); everything else reads
 * the hourly rollups.
 *
 * @example { "from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z", "unit": "day", "timeZone": "Europe/Berlin", "groupBy": "name" }
 */
export const TimeseriesParamsSchema = Type.Object(
  {
    from: From,
    to: To,
    unit: Type.Optional(
      Type.Union(
        TIME_UNITS.map((u) => Type.Literal(u)),
        { description: 'Bucket width. Default day (as `tally stats timeseries`).', default: 'day' },
      ),
    ),
    timeZone: Type.Optional(TimeZone),
    types: Type.Optional(Type.Array(Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))), { maxItems: 16 })),
    names: Type.Optional(Names),
    groupBy: Type.Optional(
      Type.Union([Type.Literal('name'), Type.Literal('type'), Type.Literal('property')]),
    ),
    property: Type.Optional(PropertyPath),
    limitGroups: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 200, default: 20, description: 'Largest groups kept.' }),
    ),
  },
  { $id: 'tally/stats/TimeseriesParams', additionalProperties: false },
)
export type TimeseriesParams = Static<typeof TimeseriesParamsSchema>

/** Bucket widths of a performance series (hourly rollups answer them; minutes would need a scan). */
export const PERFORMANCE_SERIES_UNITS = ['hour', 'day', 'week'] as const
export type PerformanceSeriesUnit = (typeof PERFORMANCE_SERIES_UNITS)[number]

/**
 * Without `groupBy` the answer comes from hourly histograms over any range; `groupBy` scans the raw
 * performance events (range at most 7 days). With `unit`, the answer also holds `series`: the percentiles
 * per hour, day or week bucket (not combinable with `groupBy`).
 *
 * @example { "from": "2026-11-20T00:00:00Z", "to": "2026-11-27T00:00:00Z", "metrics": ["LCP", "INP"] }
 * @example { "from": "2026-11-01T00:00:00Z", "metrics": ["LCP"], "unit": "day", "timeZone": "Europe/Berlin" }
 */
export const PerformanceParamsSchema = Type.Object(
  {
    from: From,
    to: To,
    metrics: Type.Optional(Names),
    unit: Type.Optional(
      Type.Union(
        PERFORMANCE_SERIES_UNITS.map((u) => Type.Literal(u)),
        { description: 'Also answer percentiles per bucket of this width (`series`).' },
      ),
    ),
    timeZone: Type.Optional(TimeZone),
    groupBy: Type.Optional(Type.Union([Type.Literal('path'), Type.Literal('property')])),
    property: Type.Optional(PropertyPath),
    limitGroups: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 20 })),
  },
  { $id: 'tally/stats/PerformanceParams', additionalProperties: false },
)
export type PerformanceParams = Static<typeof PerformanceParamsSchema>

/** @example { "from": "2026-11-26T00:00:00Z", "to": "2026-11-27T00:00:00Z", "unit": "hour" } */
export const ApiRequestsParamsSchema = Type.Object(
  {
    from: From,
    to: To,
    unit: Type.Optional(
      Type.Union([Type.Literal('hour'), Type.Literal('day'), Type.Literal('week')], {
        description:
          'Throughput bucket width. Default: hour when the range holds at most 5,000 hours (~208 days), else day, else week.',
      }),
    ),
    timeZone: Type.Optional(TimeZone),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Busiest routes kept.' }),
    ),
  },
  { $id: 'tally/stats/ApiRequestsParams', additionalProperties: false },
)
export type ApiRequestsParams = Static<typeof ApiRequestsParamsSchema>

/** @example { "from": "2026-11-20T00:00:00Z", "to": "2026-11-27T00:00:00Z", "actions": ["click"], "limit": 10 } */
export const InteractionsParamsSchema = Type.Object(
  {
    from: From,
    to: To,
    actions: Type.Optional(Names),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Top targets per action.' }),
    ),
  },
  { $id: 'tally/stats/InteractionsParams', additionalProperties: false },
)
export type InteractionsParams = Static<typeof InteractionsParamsSchema>
