import type { AnalyticsEvent } from '../schema/analytics-event.js'
import type { ValidationIssue } from '../schema/validation-issue.js'
import type { ProjectSettings } from '../store/project-types.js'

/** What the caller (HTTP route, CLI importer) knows about the request an event arrived in. */
export interface FormatContext {
  /** Project the event belongs to. */
  projectId: string
  /** Server time the request was received. One `Date` per request is enough (and cheaper). */
  receivedAt: Date
  /** Client IP as resolved through trusted proxies by the HTTP layer. Used when `context.ip` is absent. */
  clientIp?: string
  /**
   * The request's `User-Agent` header. Stands in for `context.userAgent` only when the event carries neither
   * `context.userAgent` nor `context.library` (an SDK that names itself but sends no user agent runs on a
   * server; its header describes the SDK, not the user, and `isbot` flags `node`, `axios`, … as bots).
   */
  userAgent?: string
  /** The project's settings (privacy, bots, name case, sessions, enforcement mode). */
  settings: ProjectSettings
  /** Tracking-plan schema that validated the event, from the validator. */
  schema: { name: string; version: string } | null
  /** Warnings the validator returned; copied into `violations`. */
  warnings: ValidationIssue[]
  /** A deliberate import of past events: the `timestamp_too_old` window does not apply. */
  historical?: boolean
}

/**
 * The outcome for one event: stored (`ok`), refused (`reject`, in `block` mode only) or `drop`ped because the
 * project drops bots. A drop is not an error: the caller must count it (BatchResult `dropped`), never lose it
 * silently.
 */
export type FormatResult =
  | { kind: 'ok'; event: AnalyticsEvent }
  | { kind: 'reject'; errors: ValidationIssue[] }
  | { kind: 'drop'; reason: 'bot' }

/** Parsed user-agent facts stored as `context.userAgentData`. Unknown fields are omitted. */
export interface UserAgentData {
  browser: { name?: string; version?: string; major?: string }
  engine: { name?: string; version?: string }
  os: { name?: string; version?: string }
  /** `type` is `desktop` when the parser names no device type (ua-parser-js leaves desktops untyped). */
  device: { type: string; vendor?: string; model?: string }
}

/** Referrer classes, see docs/enrichment.md for the table. */
export const REFERRER_TYPES = ['search', 'social', 'email', 'internal', 'direct', 'other'] as const
export type ReferrerType = (typeof REFERRER_TYPES)[number]

/**
 * Options fixed for the lifetime of a formatter. Every field has a default. There is no clock option: the
 * only time the formatter reads is `FormatContext.receivedAt` (and the id generator's, which is injectable).
 */
export interface EventFormatterOptions {
  /** Generates `id` (and `messageId` when the client sent none). Default: uuid v7 (monotonic). */
  generateId?: () => string
  /** A corrected timestamp later than `receivedAt` + this is `timestamp_in_future`. Default 1 hour. */
  futureToleranceMs?: number
  /** A corrected timestamp older than `receivedAt` − this is `timestamp_too_old`. Default 30 days. */
  maxAgeMs?: number
  /** Distinct user-agent strings kept parsed. Default 1,000. */
  userAgentCacheSize?: number
  /** Secret mixed into derived session ids. Default: random per formatter (ids then differ across restarts). */
  sessionSalt?: string
  /** Inactivity after which a derived session ends. Default 30 minutes. */
  sessionTimeoutMs?: number
  /** Visitors per project whose last-seen time is remembered for derived sessions. Default 100,000. */
  maxTrackedVisitors?: number
}
