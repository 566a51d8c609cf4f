/**
 * The event types Tally accepts. The first six are the Segment spec's; the last three are the kinds Tally
 * is built around (performance metrics, user interactions, API requests).
 */
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
export type EventType = (typeof EVENT_TYPES)[number]

/** Units a `performance` event's value may be in. */
export const PERFORMANCE_UNITS = ['ms', 's', 'score', 'bytes', 'count'] as const
export type PerformanceUnit = (typeof PERFORMANCE_UNITS)[number]

/** web.dev's three-way rating of a web vital. */
export const PERFORMANCE_RATINGS = ['good', 'needs-improvement', 'poor'] as const
export type PerformanceRating = (typeof PERFORMANCE_RATINGS)[number]

/** The web vitals Tally knows units and thresholds for; any other metric name is a custom timing. */
export const WEB_VITALS = ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'FID'] as const

/** HTTP methods an `api_request` event may record (upper case). */
export const HTTP_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'CONNECT',
] as const
export type HttpMethod = (typeof HTTP_METHODS)[number]

/** Processing status of a stored event, advanced by downstream consumers (claim/ack). */
export const EVENT_STATUSES = ['received', 'processing', 'processed', 'failed'] as const
export type EventStatus = (typeof EVENT_STATUSES)[number]
