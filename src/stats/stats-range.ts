import { AppError } from '../errors/app-error.js'
import type { MsRange } from './read-raw-events.js'
import { HOUR_MS } from './time/time-buckets.js'

/** Longest range a statistic that scans raw events accepts (groupBy property/path, minute buckets). */
export const MAX_SCAN_RANGE_MS = 7 * 86_400_000

function invalid(path: string, message: string): AppError {
  return new AppError('validation_failed', message, { details: [{ path, keyword: 'range', message }] })
}

/** The range a statistic covers when the caller names none: the last 7 days. */
export const DEFAULT_RANGE_MS = 7 * 86_400_000

/**
 * Parses and checks `from < to`; throws AppError('validation_failed'). A missing `to` is now, a missing
 * `from` is `defaultSpanMs` (7 days) before `to`.
 */
export function parseRange(
  params: { from?: string; to?: string },
  defaultSpanMs = DEFAULT_RANGE_MS,
  now: number = Date.now(),
): { fromMs: number; toMs: number } {
  const toMs = params.to === undefined ? now : Date.parse(params.to)
  const fromMs = params.from === undefined ? toMs - defaultSpanMs : Date.parse(params.from)
  if (!Number.isFinite(fromMs)) throw invalid('/from', 'from is not a date-time')
  if (!Number.isFinite(toMs)) throw invalid('/to', 'to is not a date-time')
  if (toMs <= fromMs) throw invalid('/to', 'to must be after from')
  return { fromMs, toMs }
}

/**
 * Refuses a raw scan of a requested range [fromMs, toMs) longer than `MAX_SCAN_RANGE_MS`. Pass the range as
 * asked for, not widened to whole buckets: a 7-day range may touch 8 days or 2 weeks of buckets.
 */
export function assertScanRange(fromMs: number, toMs: number, why: string): void {
  if (toMs - fromMs > MAX_SCAN_RANGE_MS) {
    throw invalid('/to', `${why} reads raw events; the range may span at most 7 days`)
  }
}

/**
 * How a range is answered: whole hours [fromHour, toHour) from the rollups, and the partial hours at either
 * end (`raw`) from the events table. Hour-aligned ranges have no raw part.
 */
export interface RangePlan {
  fromHour: number
  toHour: number
  raw: MsRange[]
}

export function planRange(fromMs: number, toMs: number): RangePlan {
  const fromHour = Math.ceil(fromMs / HOUR_MS)
  const toHour = Math.floor(toMs / HOUR_MS)
  if (fromHour >= toHour) return { fromHour, toHour: fromHour, raw: [[fromMs, toMs]] }
  const raw: MsRange[] = []
  if (fromMs < fromHour * HOUR_MS) raw.push([fromMs, fromHour * HOUR_MS])
  if (toMs > toHour * HOUR_MS) raw.push([toHour * HOUR_MS, toMs])
  return { fromHour, toHour, raw }
}

/** Bytes column value (Buffer on both drivers) as a Uint8Array. */
export function asBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value
  throw new TypeError('expected a bytes column')
}

/** Integers come back as strings from PostgreSQL SUM(); numbers from SQLite. */
export function num(value: unknown): number {
  return value == null ? 0 : Number(value)
}

/** Index of the bucket holding `ms` given sorted `edges` (start of each bucket, then the end). -1 outside. */
export function bucketIndex(edges: readonly number[], ms: number): number {
  if (ms < edges[0] || ms >= edges[edges.length - 1]) return -1
  let lo = 0
  let hi = edges.length - 1
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if (edges[mid] <= ms) lo = mid
    else hi = mid
  }
  return lo
}
