import safeRegex from 'safe-regex2'
import { AppError } from '../errors/app-error.js'
import { escapePointer } from '../validate/issue-list.js'

/** Keywords whose values are data, not schemas: a `pattern` key inside them is not a regex to check. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples'])

/** Where a schema uses a regex: `pattern` values and `patternProperties` keys, with JSON Pointers. */
function collectPatterns(node: unknown, path: string, out: { path: string; pattern: string }[]): void {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) collectPatterns(node[i], `${path}/${i}`, out)
    return
  }
  if (typeof node !== 'object' || node === null) return
  for (const [key, value] of Object.entries(node)) {
    const at = `${path}/${escapePointer(key)}`
    if (DATA_KEYWORDS.has(key)) continue
    if (key === 'pattern' && typeof value === 'string') out.push({ path: at, pattern: value })
    else if (key === 'patternProperties' && typeof value === 'object' && value !== null) {
      for (const p of Object.keys(value)) out.push({ path: `${at}/${escapePointer(p)}`, pattern: p })
    }
    collectPatterns(value, at, out)
  }
}

/**
 * Refuses a tracking-plan schema whose regexes can backtrack catastrophically (nested quantifiers such as
 * `^(a+)+$` or `^(\w+\s?)*$`): every event of the type is matched against them on the ingest thread, and
 * events come from the public write key, so one such pattern and one crafted string would stall ingest
 * for everyone. The test is safe-regex2's star-height check (no quantifier inside a quantified group,
 * at most 25 quantifiers); it does not catch every slow pattern (overlapping alternatives like `(a|a)*`
 * pass), which the per-string length limit (`maxStringLength`) then bounds.
 *
 * Checked when a schema is registered, not when stored schemas are loaded: a plan that is already in the
 * database keeps working.
 */
export function assertSafePatterns(schema: unknown): void {
  const found: { path: string; pattern: string }[] = []
  collectPatterns(schema, '', found)
  // A pattern that is not a valid regex is left to Ajv, which reports the syntax error itself.
  const unsafe = found.filter((p) => isValidRegex(p.pattern) && !safeRegex(p.pattern))
  if (unsafe.length === 0) return
  const first = unsafe[0]
  throw new AppError(
    'schema_invalid',
    `the regex ${JSON.stringify(first.pattern)} at ${first.path} nests quantifiers (e.g. (a+)+) and can take exponential time on hostile input; rewrite it without a repeated group that itself repeats`,
    { details: { unsafePatterns: unsafe } },
  )
}

function isValidRegex(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u')
    return true
  } catch {
    return false
  }
}
