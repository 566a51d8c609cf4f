import { AppError } from '../errors/app-error.js'
import { escapePointer } from '../validate/issue-list.js'
import { LinearRegExp, linearPatternProblem } from './linear-regex.js'
import { DATA_KEYWORDS, SCHEMA_MAPS } from './schema-keywords.js'

interface FoundPattern {
  path: string
  pattern: string
}

interface Overlap {
  path: string
  patterns: string[]
  properties: string[]
}

/**
 * Where a schema uses a regex: `pattern` values and `patternProperties` keys, with JSON Pointers; and each
 * schema object that has both `patternProperties` and `properties`.
 */
function collectPatterns(node: unknown, path: string, out: FoundPattern[], overlaps: Overlap[]): void {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) collectPatterns(node[i], `${path}/${i}`, out, overlaps)
    return
  }
  if (!isObject(node)) return
  const { patternProperties, properties } = node
  if (isObject(patternProperties) && isObject(properties)) {
    overlaps.push({ path, patterns: Object.keys(patternProperties), properties: Object.keys(properties) })
  }
  for (const [key, value] of Object.entries(node)) {
    const at = `${path}/${escapePointer(key)}`
    if (DATA_KEYWORDS.has(key)) continue
    if (key === 'pattern' && typeof value === 'string') out.push({ path: at, pattern: value })
    if (key === 'patternProperties' && isObject(value)) {
      for (const p of Object.keys(value)) out.push({ path: `${at}/${escapePointer(p)}`, pattern: p })
    }
    if (SCHEMA_MAPS.has(key) && isObject(value)) {
      for (const [name, schema] of Object.entries(value)) {
        collectPatterns(schema, `${at}/${escapePointer(name)}`, out, overlaps)
      }
    } else {
      collectPatterns(value, at, out, overlaps)
    }
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Refuses a tracking-plan schema with a regex that the linear-time engine cannot run. Every event of the
 * type is matched against the schema's regexes on the ingest thread, with strings from the public write
 * key, so they run on RE2 (`linear-regex.ts`), in time linear in the string, never JavaScript's
 * backtracking engine. What RE2 has no linear algorithm for (backreferences, lookahead, lookbehind) is
 * refused here, by name, with the reason (`details.unsafePatterns`: path, pattern, reason); so are inline
 * modifiers, a few `\p{…}` properties, and patterns that compile to more than `MAX_PROGRAM_SIZE`
 * instructions. Ajv would refuse them too (its regex engine is the same), with a less precise message.
 *
 * Also refuses, as Ajv's strict mode does, a property name under `properties` that a sibling
 * `patternProperties` regex matches; Ajv's own check would run the regex on JavaScript's engine.
 *
 * Checked when a schema is registered. A schema stored before this check compiles with the stored engine
 * (`storedRegExpEngine`): any size, but never JavaScript's engine — a version whose patterns need it is
 * unusable.
 */
export function assertSafePatterns(schema: unknown): void {
  const found: FoundPattern[] = []
  const overlaps: Overlap[] = []
  collectPatterns(schema, '', found, overlaps)
  // A pattern that is not a valid regex at all is left to Ajv, which reports JavaScript's syntax error.
  const unsafe = found.flatMap((p) => {
    const reason = linearPatternProblem(p.pattern)
    return reason === null ? [] : [{ ...p, reason }]
  })
  if (unsafe.length > 0) {
    const first = unsafe[0]
    throw new AppError(
      'schema_invalid',
      `the regex ${JSON.stringify(first.pattern)} at ${first.path} cannot be used: ${first.reason}. Tracking-plan regexes run on a linear-time engine (RE2), so that no string can stall validation; it has no backreferences or lookarounds`,
      { details: { unsafePatterns: unsafe } },
    )
  }
  for (const { path, patterns, properties } of overlaps) {
    for (const pattern of patterns) {
      let re: LinearRegExp
      try {
        re = new LinearRegExp(pattern)
      } catch {
        continue // Ajv reports it
      }
      const prop = properties.find((name) => re.test(name))
      if (prop !== undefined) {
        throw new AppError(
          'schema_invalid',
          `invalid JSON Schema: property ${JSON.stringify(prop)} at ${path}/properties also matches patternProperties ${JSON.stringify(pattern)}, so both schemas would apply to it; rename the property or narrow the regex`,
        )
      }
    }
  }
}
