import type { ValidationIssue } from '../schema/validation-issue.js'
import { formatIsoTime, parseIsoTime } from './iso-time.js'

/** A corrected timestamp more than this ahead of the server is `timestamp_in_future`. */
export const DEFAULT_FUTURE_TOLERANCE_MS = 60 * 60 * 1000
/** A corrected timestamp older than this is `timestamp_too_old` (Segment's window for late data). */
export const DEFAULT_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000

export interface TimeInput {
  timestamp?: string
  originalTimestamp?: string
  sentAt?: string
}

export interface ResolvedTime {
  /** When it happened, corrected for clock skew, `YYYY-MM-DDTHH:mm:ss.sssZ`. */
  timestamp: string
  /** The client's timestamp as sent (before correction), or null when it sent none. */
  originalTimestamp: string | null
  /** `sentAt` as sent, or null. */
  sentAt: string | null
  /** Epoch milliseconds of `timestamp`. */
  timestampMs: number
  /** At most one time problem; null when the time is plausible. */
  issue: ValidationIssue | null
}

export interface TimeLimits {
  futureToleranceMs: number
  maxAgeMs: number
}

/**
 * Resolves an event's time as Segment does. The client's `timestamp` (or Segment's `originalTimestamp`) is
 * corrected for the client's clock skew when `sentAt` is present: `receivedAt − (sentAt − timestamp)`, i.e.
 * the event keeps its age relative to the send, measured on the server's clock. With no client time the
 * event happened when it was received. A time beyond the future tolerance is flagged and clamped to
 * `receivedAt`; one older than the window is flagged and kept (a legitimate backfill looks the same).
 * Nothing here throws.
 */
export function resolveTime(
  input: TimeInput,
  receivedAtMs: number,
  receivedAtIso: string,
  limits: TimeLimits,
): ResolvedTime {
  const sentAt = input.sentAt ?? null
  const original = input.timestamp ?? input.originalTimestamp
  const path = input.timestamp !== undefined ? '/timestamp' : '/originalTimestamp'
  if (original === undefined) {
    return {
      timestamp: receivedAtIso,
      originalTimestamp: null,
      sentAt,
      timestampMs: receivedAtMs,
      issue: null,
    }
  }
  const clientMs = parseIsoTime(original)
  if (Number.isNaN(clientMs)) {
    const issue = formatIssue(path, original)
    return { timestamp: receivedAtIso, originalTimestamp: original, sentAt, timestampMs: receivedAtMs, issue }
  }
  let ms = clientMs
  let iso: string | null = null
  const sentMs = sentAt === null ? Number.NaN : parseIsoTime(sentAt)
  if (!Number.isNaN(sentMs)) ms = receivedAtMs - (sentMs - clientMs)
  else if (isCanonicalIso(original)) iso = original
  iso ??= formatIsoTime(ms)
  if (iso === null) {
    const issue = formatIssue(path, original)
    return { timestamp: receivedAtIso, originalTimestamp: original, sentAt, timestampMs: receivedAtMs, issue }
  }
  let issue: ValidationIssue | null = null
  if (ms - receivedAtMs > limits.futureToleranceMs) {
    // Clamped: a future time would land in buckets that have not happened yet. The client's value stays in
    // originalTimestamp.
    const clampIssue: ValidationIssue = {
      path,
      code: 'timestamp_in_future',
      message: `timestamp is ${formatDuration(ms - receivedAtMs)} after the time it was received (after clock-skew correction)`,
      expected: `at most ${formatDuration(limits.futureToleranceMs)} after receivedAt`,
    }
    return {
      timestamp: receivedAtIso,
      originalTimestamp: original,
      sentAt,
      timestampMs: receivedAtMs,
      issue: clampIssue,
    }
  }
  if (receivedAtMs - ms > limits.maxAgeMs) {
    issue = {
      path,
      code: 'timestamp_too_old',
      message: `timestamp is ${formatDuration(receivedAtMs - ms)} before the time it was received`,
      expected: `at most ${formatDuration(limits.maxAgeMs)} before receivedAt`,
    }
  }
  return { timestamp: iso, originalTimestamp: original, sentAt, timestampMs: ms, issue }
}

/** True for exactly `YYYY-MM-DDTHH:mm:ss.sssZ`, the stored form, so it can be kept without re-formatting. */
function isCanonicalIso(s: string): boolean {
  return (
    s.length === 24 &&
    s.charCodeAt(23) === 90 /* Z */ &&
    s.charCodeAt(19) === 46 /* . */ &&
    s.charCodeAt(10) === 84
  )
}

function formatIssue(path: string, value: string): ValidationIssue {
  return {
    path,
    code: 'format',
    message: `"${value.slice(0, 64)}" is not a representable date-time; the receive time was used`,
    expected: 'ISO-8601 date-time with a zone, years 0000–9999',
  }
}

function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000)
  if (minutes < 120) return `${minutes} min`
  const hours = Math.round(minutes / 60)
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} days`
}
