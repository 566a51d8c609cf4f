import type { AuditLog } from '../audit/audit-log.js'
import type { ReplayReport } from '../ingest/replay-failed-events.js'
import type {
  ApiRequestsParams,
  InteractionsParams,
  OverviewParams,
  PerformanceParams,
  TimeseriesParams,
} from '../stats/params.js'
import type {
  ApiRequestsResult,
  InteractionsResult,
  OverviewResult,
  PerformanceResult,
  TimeseriesResult,
} from '../stats/results.js'

/** Which failed events a replay re-examines. */
export interface ReplayFilter {
  from?: string
  to?: string
  code?: string
  /** Most failed events to examine in this call. */
  max?: number
}

/** The statistics, bound to a database (src/stats functions with the store's Kysely instance). */
export interface StatsService {
  getOverview?(projectId: string, params: OverviewParams): Promise<OverviewResult>
  getTimeseries?(projectId: string, params: TimeseriesParams): Promise<TimeseriesResult>
  getPerformance?(projectId: string, params: PerformanceParams): Promise<PerformanceResult>
  getApiRequests?(projectId: string, params: ApiRequestsParams): Promise<ApiRequestsResult>
  getInteractions?(projectId: string, params: InteractionsParams): Promise<InteractionsResult>
}

/**
 * Services the HTTP layer calls beyond the store and the ingestor. Each is optional so the server can be
 * built before a stage exists; a route whose service is absent is not registered (404), never faked.
 */
export interface ServerServices {
  /** Re-validates a project's failed events against the current plan; those that pass are ingested. */
  replayFailedEvents?: (projectId: string, filter: ReplayFilter) => Promise<ReplayReport>
  /** Called after a project's settings or schemas change, so the pipeline stops using cached ones. */
  onProjectChanged?: (projectId: string) => void | Promise<void>
  stats?: StatsService
  /** Where admin actions are recorded (and read by GET /api/v1/audit). */
  audit?: AuditLog
}
