import type { ValidationIssue } from '../schema/validation-issue.js'

/**
 * Text every store can keep: no U+0000 (PostgreSQL refuses it in `text` and `jsonb`) and no lone
 * surrogate (not encodable as UTF-8; `jsonb` refuses its escape). SQLite would keep both, so the rule is
 * applied everywhere and both stores give one answer.
 */
export function isStorableText(s: string): boolean {
  return s.indexOf('\u0000') === -1 && s.isWellFormed()
}

/**
 * `s` with each NUL and lone surrogate written as its JSON escape text (the six characters `\u0000`,
 * `\ud800`), so a kept payload shows what was sent and every store accepts it. Returns `s` itself when
 * it is already storable.
 */
export function toStorableText(s: string): string {
  if (isStorableText(s)) return s
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0) out += '\\u0000'
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) {
      out += s[i] + s[i + 1]
      i++
    } else if (c >= 0xd800 && c <= 0xdfff) out += `\\u${c.toString(16)}`
    else out += s[i]
  }
  return out
}

const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff

/**
 * Issues fit for storage: their path (built from the event's own keys), message and expected text with NUL
 * and lone surrogates written as escape text. An event refused for a key holding U+0000 names that key in
 * its issue's path; stored raw, PostgreSQL refused the failed-event row and with it the whole group commit.
 * Returns `issues` itself when nothing needs escaping.
 */
export function storableIssues<T extends ValidationIssue>(issues: T[]): T[] {
  const clean = (i: T) =>
    isStorableText(i.path) &&
    isStorableText(i.message) &&
    (i.expected === undefined || isStorableText(i.expected))
  if (issues.every(clean)) return issues
  return issues.map((i) =>
    clean(i)
      ? i
      : {
          ...i,
          path: toStorableText(i.path),
          message: toStorableText(i.message),
          ...(i.expected === undefined ? {} : { expected: toStorableText(i.expected) }),
        },
  )
}
