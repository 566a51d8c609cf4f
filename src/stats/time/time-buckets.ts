import { AppError } from '../../errors/app-error.js'
import type { TimeUnit } from '../../store/dialect.js'

export const HOUR_MS = 3_600_000
const MINUTE_MS = 60_000
const DAY_MS = 86_400_000
/** Largest gap between a local midnight and the UTC midnight of the same date (UTC−12 … UTC+14, plus slack). */
const SEARCH_WINDOW_MS = 16 * HOUR_MS
/** A bucket's usual length (local days and weeks vary by an hour around DST changes). */
const NOMINAL_MS: Readonly<Record<TimeUnit, number>> = {
  minute: MINUTE_MS,
  hour: HOUR_MS,
  day: DAY_MS,
  week: 7 * DAY_MS,
}

const formatters = new Map<string, Intl.DateTimeFormat>()
/** Per zone: local wall-clock time to the second, for the zone's offset at an instant. */
const clockFormatters = new Map<string, Intl.DateTimeFormat>()

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' })
    } catch (cause) {
      throw new AppError('validation_failed', `Unknown time zone: ${timeZone}`, {
        details: [{ path: '/timeZone', keyword: 'time_zone', message: 'Not an IANA time zone name' }],
        cause,
      })
    }
    formatters.set(timeZone, f)
  }
  return f
}

function clockFormatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = clockFormatters.get(timeZone)
  if (!f) {
    formatterFor(timeZone) // refuses an unknown zone with the documented error
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    clockFormatters.set(timeZone, f)
  }
  return f
}

/** Throws AppError('validation_failed') unless `timeZone` is an IANA zone name this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  formatterFor(timeZone)
}

/**
 * Epoch ms of a UTC calendar date and time. Not `Date.UTC`: it reads years 0–99 as 1900–1999, and a
 * range in year 50 came back with buckets in 1949.
 */
function utcInstant(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const d = new Date(0)
  d.setUTCFullYear(year, month - 1, day)
  d.setUTCHours(hour, minute, second, 0)
  return d.getTime()
}

/** The calendar date at `ms` in `timeZone`, as yyyymmdd. */
function localDateKey(ms: number, timeZone: string): number {
  let y = 0
  let m = 0
  let d = 0
  for (const part of formatterFor(timeZone).formatToParts(ms)) {
    if (part.type === 'year') y = Number(part.value)
    else if (part.type === 'month') m = Number(part.value)
    else if (part.type === 'day') d = Number(part.value)
  }
  return y * 10_000 + m * 100 + d
}

/** How far local time in `timeZone` is ahead of UTC at `ms`, in ms (whole seconds). */
function offsetAt(ms: number, timeZone: string): number {
  const v: Record<string, number> = {}
  for (const part of clockFormatterFor(timeZone).formatToParts(ms)) {
    if (part.type !== 'literal') v[part.type] = Number(part.value)
  }
  return utcInstant(v.year, v.month, v.day, v.hour, v.minute, v.second) - Math.floor(ms / 1000) * 1000
}

function keyToUtcMidnight(key: number, addDays = 0): number {
  return utcInstant(Math.floor(key / 10_000), Math.floor(key / 100) % 100, (key % 100) + addDays)
}

function utcMidnightToKey(ms: number): number {
  const d = new Date(ms)
  return d.getUTCFullYear() * 10_000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate()
}

/**
 * The first instant of calendar date `key` in `timeZone`: the least instant whose local date is ≥ key.
 * Usually the UTC midnight minus the zone's offset there, checked with two lookups; around a DST change at
 * midnight, or in a zone whose clocks skip midnight, a binary search on "local date ≥ key", right in every
 * zone. (The search alone took ~27 lookups per bucket: a long day series froze the server for seconds.)
 */
function startOfLocalDate(key: number, timeZone: string, offsetHint?: number): number {
  const utcMidnight = keyToUtcMidnight(key)
  // A series passes the previous day's offset: right except across a DST change, and one lookup fewer.
  const guess = utcMidnight - (offsetHint ?? offsetAt(utcMidnight, timeZone))
  if (localDateKey(guess, timeZone) >= key && localDateKey(guess - 1, timeZone) < key) return guess
  let lo = utcMidnight - SEARCH_WINDOW_MS // local date < key here
  let hi = utcMidnight + SEARCH_WINDOW_MS // local date ≥ key here
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (localDateKey(mid, timeZone) >= key) hi = mid
    else lo = mid
  }
  return hi
}

/** Start (epoch ms) of the bucket holding `ms`. Minute and hour buckets are UTC; day and week are local. */
export function bucketStart(ms: number, unit: TimeUnit, timeZone = 'UTC'): number {
  if (unit === 'minute') return Math.floor(ms / MINUTE_MS) * MINUTE_MS
  if (unit === 'hour') return Math.floor(ms / HOUR_MS) * HOUR_MS
  let key = localDateKey(ms, timeZone)
  if (unit === 'week') {
    const weekday = new Date(keyToUtcMidnight(key)).getUTCDay() // 0 = Sunday
    key = utcMidnightToKey(keyToUtcMidnight(key, -((weekday + 6) % 7)))
  }
  return startOfLocalDate(key, timeZone)
}

/** Start of the bucket after the one that starts at `start`. */
export function nextBucketStart(start: number, unit: TimeUnit, timeZone = 'UTC'): number {
  if (unit === 'minute') return start + MINUTE_MS
  if (unit === 'hour') return start + HOUR_MS
  const key = localDateKey(start, timeZone)
  return startOfLocalDate(utcMidnightToKey(keyToUtcMidnight(key, unit === 'week' ? 7 : 1)), timeZone)
}

/**
 * Edges of the buckets that cover [fromMs, toMs): `edges[i]` is the start of bucket i and the last entry is
 * the end of the last bucket. `from` is floored to its bucket and `to` ceiled, so every bucket is whole.
 * A local day lasts 23, 24 or 25 hours around DST changes. Throws AppError('validation_failed') past
 * `maxBuckets`.
 *
 * @example
 * bucketEdges(Date.parse('2026-03-28T12:00Z'), Date.parse('2026-03-30T00:00Z'), 'day', 'Europe/Berlin')
 * // [2026-03-27T23:00Z, 2026-03-28T23:00Z, 2026-03-29T22:00Z, 2026-03-30T22:00Z] — 24 h, 23 h, 24 h
 */
export function bucketEdges(
  fromMs: number,
  toMs: number,
  unit: TimeUnit,
  timeZone = 'UTC',
  maxBuckets = 10_000,
): number[] {
  const tooMany = () =>
    new AppError('validation_failed', `The range holds more than ${maxBuckets} ${unit} buckets`, {
      details: [
        {
          path: '/unit',
          keyword: 'too_many_buckets',
          message: `Use a coarser unit than ${unit} or a shorter range`,
        },
      ],
    })
  // Refused before any bucket is computed when even 25-hour days could not bring it under the limit.
  if ((toMs - fromMs) / ((NOMINAL_MS[unit] * 25) / 24) > maxBuckets + 1) throw tooMany()
  const edges = [bucketStart(fromMs, unit, timeZone)]
  // Local days and weeks: step the calendar date itself rather than reading it back from each edge.
  let key = unit === 'day' || unit === 'week' ? localDateKey(edges[0], timeZone) : 0
  while (edges[edges.length - 1] < toMs) {
    if (edges.length > maxBuckets) throw tooMany()
    const last = edges[edges.length - 1]
    if (key === 0) {
      edges.push(nextBucketStart(last, unit, timeZone))
      continue
    }
    const offset = keyToUtcMidnight(key) - last
    key = utcMidnightToKey(keyToUtcMidnight(key, unit === 'week' ? 7 : 1))
    const next = startOfLocalDate(key, timeZone, offset)
    // A date the zone skipped (Pacific/Apia, 30 Dec 2011) starts where the next one does: no empty bucket.
    if (next > last) edges.push(next)
  }
  if (edges.length === 1) edges.push(nextBucketStart(edges[0], unit, timeZone))
  return edges
}

/** True when every edge falls on a UTC hour, so hourly rollups can answer exactly. */
export function edgesAlignedToHours(edges: readonly number[]): boolean {
  return edges.every((e) => e % HOUR_MS === 0)
}

export { DAY_MS }
