import type { AnalyticsEvent } from '../schema/analytics-event.js'
import { EVENT_STATUSES, EVENT_TYPES } from '../schema/event-types.js'
import type { NewFailedEvent } from '../store/event-store.js'
import { isIsoDateTime } from '../validate/formats.js'

/**
 * What a worker reads from the stream, checked before it joins a batch: a message that is not a
 * well-formed queued event (not JSON, `null`, a number, an object missing a field the writer needs or
 * with a wrong type) would fail the whole transaction on every redelivery and hold back the good events
 * fetched with it, so it is terminated as poison instead. The check covers what `toEventRow` /
 * `toFailedRow` read; ingest nodes publish events that already passed validation and enrichment.
 */
export type QueuedMessage =
  | { ok: true; kind: 'event'; event: AnalyticsEvent }
  | { ok: true; kind: 'failed'; failed: NewFailedEvent }
  | { ok: false; reason: string }

const decoder = new TextDecoder()
const TYPES = new Set<string>(EVENT_TYPES)
const STATUSES = new Set<string>(EVENT_STATUSES)

/** Decodes and checks one message's data; `failed` is true for the failed-event subject. */
export function decodeQueuedMessage(data: Uint8Array, failed: boolean): QueuedMessage {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(data))
  } catch {
    return { ok: false, reason: 'not JSON' }
  }
  if (!isObject(value)) return { ok: false, reason: `not an object (${describe(value)})` }
  const reason = failed ? failedEventProblem(value) : eventProblem(value)
  if (reason !== undefined) return { ok: false, reason }
  return failed
    ? { ok: true, kind: 'failed', failed: value as unknown as NewFailedEvent }
    : { ok: true, kind: 'event', event: value as unknown as AnalyticsEvent }
}

function eventProblem(e: Record<string, unknown>): string | undefined {
  for (const field of ['id', 'projectId', 'messageId'])
    if (!nonEmptyString(e[field])) return `${field} is not a non-empty string`
  if (typeof e.type !== 'string' || !TYPES.has(e.type)) return 'type is not an event type'
  for (const field of ['timestamp', 'receivedAt'])
    if (!isTime(e[field])) return `${field} is not an ISO date-time`
  for (const field of [
    'name',
    'userId',
    'anonymousId',
    'sessionId',
    'groupId',
    'previousId',
    'originalTimestamp',
    'sentAt',
    'error',
  ]) {
    if (e[field] != null && typeof e[field] !== 'string') return `${field} is not a string or null`
  }
  for (const field of ['properties', 'context'])
    if (e[field] !== undefined && !isObject(e[field])) return `${field} is not an object`
  if (e.traits != null && !isObject(e.traits)) return 'traits is not an object or null'
  if (e.status !== undefined && (typeof e.status !== 'string' || !STATUSES.has(e.status)))
    return 'status is not an event status'
  if (e.attempts !== undefined && !(Number.isInteger(e.attempts) && (e.attempts as number) >= 0))
    return 'attempts is not a non-negative integer'
  if (e.tags !== undefined && !(Array.isArray(e.tags) && e.tags.every((t) => typeof t === 'string')))
    return 'tags is not an array of strings'
  if (
    e.schema != null &&
    !(isObject(e.schema) && typeof e.schema.name === 'string' && typeof e.schema.version === 'string')
  )
    return 'schema is not {name, version} or null'
  if (e.violations !== undefined && !Array.isArray(e.violations)) return 'violations is not an array'
  return undefined
}

function failedEventProblem(f: Record<string, unknown>): string | undefined {
  for (const field of ['id', 'projectId'])
    if (!nonEmptyString(f[field])) return `${field} is not a non-empty string`
  if (!isTime(f.receivedAt)) return 'receivedAt is not an ISO date-time'
  if (f.payload === undefined) return 'payload is missing'
  if (!Array.isArray(f.errors)) return 'errors is not an array'
  return undefined
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function nonEmptyString(v: unknown): boolean {
  return typeof v === 'string' && v.length > 0
}

function isTime(v: unknown): boolean {
  return typeof v === 'string' && isIsoDateTime(v)
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v
}
