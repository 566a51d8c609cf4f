/**
 * `Date#toISOString` without the `Date`: measured ~340 ns per call here, against ~60 ns for this, and
 * it runs for every event whose timestamp is skew-corrected. The day part ("YYYY-MM-DDT") is cached because
 * a batch's events share a day. Returns null outside the years 0000–9999 (where toISOString would need
 * the expanded ±YYYYYY form), so the caller can treat such a time as invalid.
 */
const DAY_MS = 86_400_000
let cachedDay = Number.NaN
let cachedPrefix = ''

export function formatIsoTime(ms: number): string | null {
  if (!Number.isFinite(ms) || ms < -62_167_219_200_000 || ms > 253_402_300_799_999) return null
  const day = Math.floor(ms / DAY_MS)
  if (day !== cachedDay) {
    cachedPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11)
    cachedDay = day
  }
  let rest = ms - day * DAY_MS
  const h = Math.floor(rest / 3_600_000)
  rest -= h * 3_600_000
  const m = Math.floor(rest / 60_000)
  rest -= m * 60_000
  const s = Math.floor(rest / 1000)
  const milli = Math.floor(rest - s * 1000)
  return `${cachedPrefix}${pad2(h)}:${pad2(m)}:${pad2(s)}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`
}

/** The UTC day number (days since 1970-01-01) of an epoch-milliseconds time. */
export function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS)
}
