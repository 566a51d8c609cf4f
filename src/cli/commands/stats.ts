import type { TObject } from '@sinclair/typebox'
import type { ValidateFunction } from 'ajv'
import { createStatsService } from '../../app/stats-service.js'
import type { StatsService } from '../../http/server-services.js'
import {
  ApiRequestsParamsSchema,
  InteractionsParamsSchema,
  OverviewParamsSchema,
  PerformanceParamsSchema,
  TimeseriesParamsSchema,
} from '../../stats/params.js'
import type { CliCommand, CliIo } from '../cli-io.js'
import {
  DATABASE_HELP,
  DATABASE_OPTIONS,
  parseCommandArgs,
  printJson,
  runCommand,
  usageError,
  withDatabase,
} from '../command-context.js'
import { createFlagAjv, flagError } from '../filter-args.js'

export const STATS_HELP = `Usage: tally stats STATISTIC [--from TIME] [--to TIME] [options] [--db URL] [--project ID]

Computes a statistic straight from the database (no server needed) and prints it as JSON — the same
answer as GET /api/v1/stats/STATISTIC. The range is [--from, --to); default: the 7 days up to now.
TIME is ISO 8601 with a zone, or YYYY-MM-DD (midnight UTC).

Statistics and the options each takes:
  overview       --top N (top event names, default 10)
  timeseries     --interval minute|hour|day|week (default day), --tz ZONE, --type TYPE, --name NAME,
                 --group-by name|type|property, --property PATH, --limit N (groups kept)
  performance    --metric NAME (repeatable), --group-by path|property, --property PATH, --limit N,
                 or --interval hour|day|week [--tz ZONE] for percentiles per bucket too ("series")
  api-requests   --interval hour|day|week (default hour), --tz ZONE, --limit N (routes kept)
  interactions   --action NAME (repeatable), --limit N (top targets per action)

Options:
  --from TIME, --to TIME   the range
  --tz ZONE                IANA time zone for day/week buckets (default UTC), e.g. Europe/Berlin
${DATABASE_HELP}

A flag a statistic does not take is a usage error. Exit status: 0 ok, 1 the database failed, 2 usage
error (unknown statistic, bad flag, range or value).`

const DAY_MS = 86_400_000

/** For each statistic: the service method, its parameter schema, and which flag fills which parameter. */
const STATISTICS: Record<
  string,
  {
    method: keyof StatsService
    schema: TObject
    flags: Record<string, string>
    defaults?: Record<string, string>
  }
> = {
  overview: { method: 'getOverview', schema: OverviewParamsSchema, flags: { top: 'topNames' } },
  timeseries: {
    method: 'getTimeseries',
    schema: TimeseriesParamsSchema,
    flags: {
      interval: 'unit',
      tz: 'timeZone',
      type: 'types',
      name: 'names',
      'group-by': 'groupBy',
      property: 'property',
      limit: 'limitGroups',
    },
    defaults: { unit: 'day' },
  },
  performance: {
    method: 'getPerformance',
    schema: PerformanceParamsSchema,
    flags: {
      metric: 'metrics',
      'group-by': 'groupBy',
      property: 'property',
      limit: 'limitGroups',
      interval: 'unit',
      tz: 'timeZone',
    },
  },
  'api-requests': {
    method: 'getApiRequests',
    schema: ApiRequestsParamsSchema,
    flags: { interval: 'unit', tz: 'timeZone', limit: 'limit' },
  },
  interactions: {
    method: 'getInteractions',
    schema: InteractionsParamsSchema,
    flags: { action: 'actions', limit: 'limit' },
  },
}

const STAT_OPTIONS = {
  from: { type: 'string' },
  to: { type: 'string' },
  top: { type: 'string' },
  interval: { type: 'string' },
  tz: { type: 'string' },
  type: { type: 'string', multiple: true },
  name: { type: 'string', multiple: true },
  'group-by': { type: 'string' },
  property: { type: 'string' },
  limit: { type: 'string' },
  metric: { type: 'string', multiple: true },
  action: { type: 'string', multiple: true },
  // Event filters the statistics do not take: accepted by the parser so the message can say so.
  user: { type: 'string' },
  'anonymous-id': { type: 'string' },
  session: { type: 'string' },
  where: { type: 'string', multiple: true },
  status: { type: 'string', multiple: true },
} as const

const LIST_PARAMS = new Set(['types', 'names', 'metrics', 'actions'])

const ajv = createFlagAjv(true)
const validators = new Map<string, ValidateFunction>()
function validatorFor(name: string): ValidateFunction {
  let v = validators.get(name)
  if (!v) {
    v = ajv.compile({ ...STATISTICS[name].schema, $id: undefined })
    validators.set(name, v)
  }
  return v
}

function normaliseTime(value: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value
}

/** The statistic's parameters from the flags, checked against its TypeBox schema; throws AppError('usage'). */
export function buildStatsParams(
  statistic: string,
  values: Record<string, string | string[] | boolean | undefined>,
  now: Date = new Date(),
): Record<string, unknown> {
  const spec = STATISTICS[statistic]
  const params: Record<string, unknown> = { ...spec.defaults }
  const to = values.to === undefined ? now.toISOString() : normaliseTime(String(values.to))
  const toMs = Date.parse(to)
  params.to = to
  params.from =
    values.from !== undefined
      ? normaliseTime(String(values.from))
      : Number.isFinite(toMs)
        ? new Date(toMs - 7 * DAY_MS).toISOString()
        : to
  const flagOf: Record<string, string> = { from: '--from', to: '--to' }
  for (const [flag, value] of Object.entries(values)) {
    if (value === undefined || flag === 'from' || flag === 'to' || flag in DATABASE_OPTIONS) continue
    const param = spec.flags[flag]
    if (param === undefined) {
      const takes = Object.keys(spec.flags).map((f) => `--${f}`)
      throw usageError(
        `--${flag} does not apply to stats ${statistic}${takes.length ? ` (it takes ${takes.join(', ')})` : ''}`,
      )
    }
    params[param] =
      LIST_PARAMS.has(param) && Array.isArray(value)
        ? value.flatMap((v) => v.split(',')).filter((v) => v !== '')
        : value
    flagOf[param] = `--${flag}`
  }
  const validate = validatorFor(statistic)
  if (!validate(params)) throw flagError(validate, params, flagOf)
  return params
}

/** `tally stats`: see STATS_HELP. */
export async function statsCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('stats', io, async () => {
    const { values, positionals } = parseCommandArgs(argv, { ...DATABASE_OPTIONS, ...STAT_OPTIONS })
    if (values.help) {
      io.stdout.write(`${STATS_HELP}\n`)
      return 0
    }
    const [statistic, ...rest] = positionals
    if (statistic === undefined || !Object.hasOwn(STATISTICS, statistic)) {
      throw usageError(
        `${statistic === undefined ? 'missing STATISTIC' : `unknown statistic ${JSON.stringify(statistic)}`}; one of ${Object.keys(STATISTICS).join(', ')}`,
      )
    }
    if (rest.length > 0) throw usageError(`unexpected argument ${JSON.stringify(rest[0])}`)
    const params = buildStatsParams(statistic, values)
    return withDatabase(values, io, async ({ store, projectId }) => {
      const service = createStatsService(store)
      const fn = service[STATISTICS[statistic].method] as (p: string, q: unknown) => Promise<unknown>
      await printJson(io, await fn.call(service, projectId, params))
      return 0
    })
  })
}

export const statsCli: CliCommand = {
  summary: 'Compute a statistic (overview, timeseries, performance, api-requests, interactions) as JSON',
  run: statsCommand,
}
