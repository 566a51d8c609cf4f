/** Shapes of the API answers the dashboard reads (see docs/api.md, /openapi.json). */

export interface Unique {
  value: number
  exact: boolean
}

export interface OverviewResult {
  from: string
  to: string
  total: number
  byType: { type: string; count: number }[]
  topNames: { type: string; name: string | null; count: number }[]
  uniqueUsers: Unique
  uniqueSessions: Unique
  failedEvents: number
}

export interface TimeseriesResult {
  buckets: string[]
  series: { key: string | null; total: number; counts: number[] }[]
  groupsTruncated: boolean
  source: 'rollup' | 'scan'
}

export interface PerformanceRow {
  metric: string
  group: string | null
  count: number
  p50: number | null
  p75: number | null
  p90: number | null
  p95: number | null
  p99: number | null
  ratings: { good: number; needsImprovement: number; poor: number; unrated: number }
}

export interface PerformanceResult {
  source: 'rollup' | 'scan'
  relativeAccuracy: number
  metrics: PerformanceRow[]
}

export interface ApiRouteRow {
  method: string
  route: string
  count: number
  rate4xx: number
  rate5xx: number
  p50: number | null
  p95: number | null
  p99: number | null
}

export interface ApiRequestsResult {
  routes: ApiRouteRow[]
  throughput: { unit: string; buckets: string[]; counts: number[] }
}

export interface InteractionsResult {
  actions: {
    action: string
    count: number
    targets: { target: string; count: number; uniqueUsers: Unique }[]
  }[]
}

export interface StoredEvent {
  id: string
  type: string
  name: string | null
  userId: string | null
  anonymousId: string | null
  sessionId: string | null
  timestamp: string
  receivedAt?: string
  status?: string
  properties?: Record<string, unknown>
  context?: Record<string, unknown>
  [key: string]: unknown
}

export interface EventPage {
  events: StoredEvent[]
  nextCursor: string | null
}

export interface ValidationIssue {
  path: string
  code: string
  message: string
  expected?: string
}

export interface FailedEvent {
  id: string
  receivedAt: string
  payload: unknown
  errors: ValidationIssue[]
  replayState: 'pending' | 'replayed' | 'failed_again'
  replayAttempts: number
  lastReplayAt: string | null
  replayedEventId: string | null
}

export interface ReplayResult {
  examined: number
  replayed: number
  duplicates: number
  stillFailing: number
}

export interface StoredSchema {
  eventType: string
  eventName: string
  version: string
  jsonSchema: Record<string, unknown>
  createdAt: string
}

export type Enforcement = 'allow' | 'warn' | 'block'

export interface Project {
  id: string
  name: string
  createdAt: string
  settings: { enforcement: Enforcement; [key: string]: unknown }
}

export const EVENT_TYPES = [
  'track',
  'page',
  'screen',
  'identify',
  'group',
  'alias',
  'performance',
  'interaction',
  'api_request',
] as const
