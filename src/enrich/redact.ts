/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]'

/**
 * Keys whose values are always redacted, written normalised (lower case, letters and digits only). A key
 * matches when, normalised, it equals one of these or ends with one (`accessToken`, `user_password`,
 * `X-Api-Key`), so `credit_card`, `CreditCard` and `credit-card` are one key.
 */
export const DEFAULT_REDACT_KEYS = [
  'password',
  'passwd',
  'pwd',
  'secret',
  'token',
  'authorization',
  'apikey',
  'privatekey',
  'cookie',
  'ssn',
  'socialsecuritynumber',
  'creditcard',
  'cardnumber',
  'ccnumber',
  'cvv',
  'cvc',
  'iban',
] as const

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g
// 13–19 digits, optionally grouped by single spaces or dashes, starting 2–6 (the card networks' ranges;
// this keeps 13-digit millisecond timestamps, which start with 1, out).
const CARD = /(?<!\d)[2-6](?:[ -]?\d){12,18}(?!\d)/g
// The same without the digit look-arounds: a cheaper first test that most strings fail.
const MAYBE_CARD = /[2-6](?:[ -]?\d){12}/
const MAX_KEY_CACHE = 10_000

/** Normalises a key for matching: lower case, letters and digits only. */
export function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '')
}

/** Luhn check digit test over the digits of `s` (other characters ignored). */
export function passesLuhn(s: string): boolean {
  let sum = 0
  let double = false
  for (let i = s.length - 1; i >= 0; i--) {
    const c = s.charCodeAt(i) - 48
    if (c < 0 || c > 9) continue
    let d = c
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return sum % 10 === 0
}

/** The character code lower-cased when it is an ASCII letter or digit, otherwise -1. */
function lowerAlnum(c: number): number {
  if (c >= 97 && c <= 122) return c
  if (c >= 65 && c <= 90) return c + 32
  return c >= 48 && c <= 57 ? c : -1
}

/**
 * Replaces e-mail addresses and card-like numbers that pass the Luhn check inside a string. Returns the
 * same string when there is nothing to replace.
 */
export function redactString(s: string): string {
  let out = s
  if (out.indexOf('@') >= 0) out = out.replace(EMAIL, REDACTED)
  if (out.length >= 13 && MAYBE_CARD.test(out)) out = out.replace(CARD, (m) => (passesLuhn(m) ? REDACTED : m))
  return out
}

/**
 * Builds the redactor for a project: default keys plus `extraKeys` (matched the same way). Values under a
 * key in `exemptKeys` (matched whole once normalised: `email` exempts `Email` and `e_mail`, not
 * `backupEmail`) are kept as sent. The returned function walks objects and arrays of any depth and returns
 * the input itself when nothing was redacted, otherwise a copy with only the changed branches copied. It
 * never mutates its argument.
 */
export function createRedactor(extraKeys: readonly string[] = [], exemptKeys: readonly string[] = []) {
  const terms = [...DEFAULT_REDACT_KEYS, ...extraKeys.map(normaliseKey).filter((k) => k.length > 0)]
  const exempt = new Set(exemptKeys.map(normaliseKey).filter((k) => k.length > 0))
  const anyExempt = exempt.size > 0
  const exemptCache = new Map<string, boolean>()
  function isExemptKey(key: string): boolean {
    let hit = exemptCache.get(key)
    if (hit === undefined) {
      hit = exempt.has(normaliseKey(key))
      if (exemptCache.size >= MAX_KEY_CACHE) exemptCache.clear()
      exemptCache.set(key, hit)
    }
    return hit
  }
  const keyCache = new Map<string, boolean>()
  // A key can match only if its last two characters, lower-cased, end some term: when both are ASCII
  // letters or digits, a table of the terms' last two letters answers most keys (`name`, `url`, `price`)
  // without the Map lookup. Anything else (punctuation or non-ASCII at the end, which normalising may
  // drop or turn into ASCII) goes to the exact test.
  const endings = terms.every((t) => t.length >= 2) ? new Uint8Array(128 * 128) : null
  if (endings !== null)
    for (const t of terms) endings[t.charCodeAt(t.length - 2) * 128 + t.charCodeAt(t.length - 1)] = 1

  function isSensitiveKey(key: string): boolean {
    const len = key.length
    if (endings !== null && len >= 2) {
      const a = lowerAlnum(key.charCodeAt(len - 2))
      const b = lowerAlnum(key.charCodeAt(len - 1))
      if (a >= 0 && b >= 0 && endings[a * 128 + b] === 0) return false
    }
    let hit = keyCache.get(key)
    if (hit === undefined) {
      const k = normaliseKey(key)
      hit = terms.some((t) => k === t || k.endsWith(t))
      if (keyCache.size >= MAX_KEY_CACHE) keyCache.clear()
      keyCache.set(key, hit)
    }
    return hit
  }

  function redactValue(value: unknown): unknown {
    if (typeof value === 'string') return redactString(value)
    if (value === null || typeof value !== 'object') return value
    if (Array.isArray(value)) {
      let copy: unknown[] | null = null
      for (let i = 0; i < value.length; i++) {
        const v = value[i]
        const r = redactValue(v)
        if (r !== v) {
          copy ??= value.slice()
          copy[i] = r
        }
      }
      return copy ?? value
    }
    const obj = value as Record<string, unknown>
    let copy: Record<string, unknown> | null = null
    for (const key in obj) {
      const v = obj[key]
      if (anyExempt && isExemptKey(key)) continue
      const r = isSensitiveKey(key) ? REDACTED : redactValue(v)
      if (r !== v) {
        copy ??= { ...obj }
        copy[key] = r
      }
    }
    return copy ?? obj
  }

  /**
   * Redacts `value`. Top-level keys in `keepKeys` are kept as they are (their values are not scanned):
   * the formatter keeps `context.userAgent`, a long string on every event that is parsed, not free text.
   */
  return function redact<T>(value: T, keepKeys?: ReadonlySet<string>): T {
    if (keepKeys === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) {
      return redactValue(value) as T
    }
    const obj = value as Record<string, unknown>
    let copy: Record<string, unknown> | null = null
    for (const key in obj) {
      if (keepKeys.has(key) || (anyExempt && isExemptKey(key))) continue
      const v = obj[key]
      const r = isSensitiveKey(key) ? REDACTED : redactValue(v)
      if (r !== v) {
        copy ??= { ...obj }
        copy[key] = r
      }
    }
    return (copy ?? obj) as T
  }
}
