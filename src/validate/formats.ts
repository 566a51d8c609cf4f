import type { Ajv } from 'ajv'

/**
 * The two string formats the event model uses (see `schema/primitives.ts`), written as plain functions:
 * a regex-free, allocation-free check is several times cheaper than ajv-formats' `date-time` regex plus
 * its `Date` construction, and it runs on every timestamp of every event.
 */

declare global {
  interface String {
    /** ES2024; present on Node 20. */
    isWellFormed(): boolean
  }
}

// C0 controls and DEL. Tab and newline are controls too: names and ids are single-line labels.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/

/** `plain-text`: no control characters (U+0000–U+001F, U+007F) and no lone surrogates. */
export function isPlainText(value: string): boolean {
  return !CONTROL_CHARS.test(value) && value.isWellFormed()
}

const DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48
  return c >= 0 && c <= 9 ? c : -1000
}

function twoDigits(s: string, i: number): number {
  return digit(s, i) * 10 + digit(s, i + 1)
}

/**
 * `iso-date-time`: an ISO-8601 / RFC 3339 date-time that carries a zone, e.g. `2026-11-27T10:00:00.000Z` or
 * `2026-11-27T11:00+01:00`. Accepted: `YYYY-MM-DD`, separator `T`/`t`/space, `HH:MM`, optional `:SS`, optional
 * `.fraction` (1–9 digits), zone `Z`/`z` or `±HH:MM`. Calendar-checked (Feb 29 only in leap years); no leap
 * seconds and no `24:00`, because `Date.parse` would reject or roll them over. Everything accepted here
 * parses with `Date.parse` to the instant it names.
 */
export function isIsoDateTime(s: string): boolean {
  const len = s.length
  if (len < 17 || len > 35) return false
  const year = digit(s, 0) * 1000 + digit(s, 1) * 100 + twoDigits(s, 2)
  const month = twoDigits(s, 5)
  const day = twoDigits(s, 8)
  if (year < 0 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return false
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month]) return false
  if (month === 2 && day === 29 && (year % 4 !== 0 || (year % 100 === 0 && year % 400 !== 0))) return false
  const sep = s.charCodeAt(10)
  if (sep !== 84 && sep !== 116 && sep !== 32) return false // T t space
  const hour = twoDigits(s, 11)
  const minute = twoDigits(s, 14)
  if (hour < 0 || hour > 23 || s.charCodeAt(13) !== 58 || minute < 0 || minute > 59) return false
  let i = 16
  if (s.charCodeAt(i) === 58) {
    const second = twoDigits(s, i + 1)
    if (second < 0 || second > 59) return false
    i += 3
    if (s.charCodeAt(i) === 46) {
      const start = ++i
      while (i < len && digit(s, i) >= 0) i++
      if (i === start || i - start > 9) return false
    }
  }
  const zone = s.charCodeAt(i)
  if (zone === 90 || zone === 122) return i + 1 === len // Z z
  if (zone !== 43 && zone !== 45) return false // + -
  if (i + 6 !== len || s.charCodeAt(i + 3) !== 58) return false
  const zh = twoDigits(s, i + 1)
  const zm = twoDigits(s, i + 4)
  return zh >= 0 && zh <= 23 && zm >= 0 && zm <= 59
}

/**
 * Set by `EventValidator` for the duration of one synchronous validation when the event was parsed from
 * escape-free, well-formed JSON text: no string in it can hold a control character or a lone surrogate,
 * so `plain-text` has nothing left to check. Validation never yields, so no other event can observe it.
 */
export const formatContext = { textKnownPlain: false }

function plainTextFormat(value: string): boolean {
  return formatContext.textKnownPlain || isPlainText(value)
}

/**
 * Makes `date-time` mean `iso-date-time` on an Ajv that checks requests and command-line flags (times of
 * queries, statistics, exports): a user writing `2026-11-01T10:30+01:00`, as the docs show, was told it
 * was no date-time because RFC 3339 (ajv-formats) wants the seconds. Not for tracking-plan schemas, whose
 * `date-time` keeps its standard meaning.
 */
export function acceptIsoDateTimes(ajv: Ajv): void {
  ajv.addFormat('date-time', { type: 'string', validate: isIsoDateTime })
}

/** Registers `plain-text` and `iso-date-time` on an Ajv instance (draft-07 or 2020-12). */
export function registerFormats(ajv: Ajv): void {
  ajv.addFormat('plain-text', { type: 'string', validate: plainTextFormat })
  ajv.addFormat('iso-date-time', { type: 'string', validate: isIsoDateTime })
}

/** What each custom format expects, for error messages. */
export const FORMAT_DESCRIPTIONS: Readonly<Record<string, string>> = {
  'iso-date-time': 'ISO-8601 date-time with zone, e.g. 2026-11-27T10:00:00.000Z',
  'plain-text': 'text without control characters or lone surrogates',
  'date-time': 'RFC 3339 date-time, e.g. 2026-11-27T10:00:00Z',
}
