import type { TObject } from '@sinclair/typebox'
import {
  ApiRequestsParamsSchema,
  InteractionsParamsSchema,
  OverviewParamsSchema,
  PerformanceParamsSchema,
  TimeseriesParamsSchema,
} from '../../stats/params.js'
import {
  ApiRequestsResultSchema,
  InteractionsResultSchema,
  OverviewResultSchema,
  PerformanceResultSchema,
  TimeseriesResultSchema,
} from '../../stats/results.js'
import type { RouteDeps, TallyServer } from '../build-server.js'
import { authOf, requireBearer } from '../plugins/auth.js'
import type { StatsService } from '../server-services.js'
import { BEARER, errorResponses, inline } from './common-schemas.js'

/** Each statistic: its path, parameter and result schemas, and the service method answering it. */
const STATS_ROUTES: ReadonlyArray<{
  path: string
  method: keyof StatsService
  params: TObject
  result: TObject
  summary: string
}> = [
  {
    path: 'overview',
    method: 'getOverview',
    params: OverviewParamsSchema,
    result: OverviewResultSchema,
    summary: 'Totals, by type, top names, unique users and sessions, failed events',
  },
  {
    path: 'timeseries',
    method: 'getTimeseries',
    params: TimeseriesParamsSchema,
    result: TimeseriesResultSchema,
    summary: 'Counts per minute/hour/day/week, optionally grouped',
  },
  {
    path: 'performance',
    method: 'getPerformance',
    params: PerformanceParamsSchema,
    result: PerformanceResultSchema,
    summary: 'Web-vital percentiles and ratings per metric',
  },
  {
    path: 'api-requests',
    method: 'getApiRequests',
    params: ApiRequestsParamsSchema,
    result: ApiRequestsResultSchema,
    summary: 'Per route: count, error rates, latency percentiles, throughput',
  },
  {
    path: 'interactions',
    method: 'getInteractions',
    params: InteractionsParamsSchema,
    result: InteractionsResultSchema,
    summary: 'Top targets per action',
  },
]

/** `GET /api/v1/stats/*`: the statistics, parameters in the query string (lists as repeated params). */
export function registerStatsRoutes(app: TallyServer, deps: RouteDeps): void {
  const stats = deps.stats
  if (!stats) return
  const read = requireBearer(deps.keys, 'read')
  for (const route of STATS_ROUTES) {
    const fn = stats[route.method] as ((projectId: string, params: unknown) => Promise<unknown>) | undefined
    if (!fn) continue
    app.get(
      `/api/v1/stats/${route.path}`,
      {
        onRequest: read,
        schema: {
          tags: ['stats'],
          summary: route.summary,
          security: BEARER,
          querystring: inline(route.params),
          response: { 200: inline(route.result), ...errorResponses(400, 401, 403, 429, 503) },
        },
      },
      async function getStatistic(request) {
        return (await fn.call(stats, authOf(request).projectId, request.query)) as never
      },
    )
  }
}
