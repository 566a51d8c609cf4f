import type { ErrorObject } from 'ajv'
import type { IssueCode } from '../errors/issue-codes.js'
import { EVENT_CREATE_SCHEMAS } from '../schema/event-create.js'
import { EVENT_TYPES } from '../schema/event-types.js'
import { FORMAT_DESCRIPTIONS } from './formats.js'
import { escapePointer, type IssueList } from './issue-list.js'

/**
 * Turns Ajv's errors into `ValidationIssue`s a user can act on: a JSON Pointer to the offending value
 * (for `required`, to the missing field), a stable code, a sentence and what was expected.
 *
 * `anyOf` failures (identifiers are "string or integer") are collapsed: when the value has the type of
 * one branch, that branch's errors are reported (`max_length`, `format`, …); otherwise one `type` issue
 * names every accepted type. The discriminator's own errors are replaced by `required`/`type` at `/type`
 * or by `unknown_event`.
 */

/** Every top-level field of every variant: a field of another variant is `not_allowed`, not unknown. */
const VARIANT_FIELDS: ReadonlySet<string> = new Set(
  Object.values(EVENT_CREATE_SCHEMAS).flatMap((s) => Object.keys(s.properties)),
)

const BOUND_KEYWORDS = new Set(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'])

function childPath(instancePath: string, key: string): string {
  return `${instancePath}/${escapePointer(key)}`
}

function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === '') return root
  let cur: unknown = root
  for (const raw of pointer.slice(1).split('/')) {
    if (typeof cur !== 'object' || cur === null) return undefined
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    cur = Object.hasOwn(cur, key) ? (cur as Record<string, unknown>)[key] : undefined
  }
  return cur
}

interface Mapped {
  path: string
  code: IssueCode
  message: string
  expected?: string
}

/** Maps one Ajv error; `schemaViolation` makes every code `schema_violation` (tracking-plan schemas). */
export function mapAjvError(e: ErrorObject, root: unknown, pathPrefix = ''): Mapped | null {
  const p = e.params as Record<string, any>
  const at = pathPrefix + e.instancePath
  switch (e.keyword) {
    case 'required':
      return {
        path: childPath(at, p.missingProperty),
        code: 'required',
        message: `"${p.missingProperty}" is required`,
      }
    case 'discriminator':
      if (p.error === 'mapping') {
        return {
          path: '/type',
          code: 'unknown_event',
          message: `"${String(p.tagValue)}" is not an event type`,
          expected: EVENT_TYPES.join(', '),
        }
      }
      return null // a missing or non-string `type` is reported by `required` / `type` at /type
    case 'additionalProperties': {
      const key = String(p.additionalProperty)
      if (e.instancePath === '' && pathPrefix === '' && VARIANT_FIELDS.has(key)) {
        const type = (root as Record<string, unknown>).type
        return {
          path: childPath(at, key),
          code: 'not_allowed',
          message: `"${key}" is not allowed on a ${type} event`,
        }
      }
      return {
        path: childPath(at, key),
        code: 'unknown_field',
        message: `"${key}" is not a known field here`,
      }
    }
    case 'unevaluatedProperties': {
      const key = String(p.unevaluatedProperty)
      return {
        path: childPath(at, key),
        code: 'unknown_field',
        message: `"${key}" is not a known field here`,
      }
    }
    case 'dependencies':
    case 'dependentRequired':
      return {
        path: childPath(at, p.missingProperty),
        code: 'required',
        message: `"${p.missingProperty}" is required when "${p.property}" is present`,
      }
    case 'propertyNames':
      return null // its inner error, which names the key, is reported (see formatAjvErrors)
    case 'type':
      return { path: at, code: 'type', message: `must be ${article(p.type)}`, expected: String(p.type) }
    case 'enum':
      return {
        path: at,
        code: 'enum',
        message: 'must be one of the allowed values',
        expected: listAllowed(p.allowedValues as unknown[]),
      }
    case 'const':
      return {
        path: at,
        code: 'enum',
        message: 'must be the allowed value',
        expected: capText(JSON.stringify(p.allowedValue) ?? 'undefined'),
      }
    case 'format':
      if (p.format === 'plain-text') {
        return {
          path: at,
          code: 'invalid_string',
          message: 'must not contain control characters or lone surrogates',
        }
      }
      return {
        path: at,
        code: 'format',
        message: `must be a valid ${p.format}`,
        expected: FORMAT_DESCRIPTIONS[p.format] ?? String(p.format),
      }
    case 'pattern':
      return {
        path: at,
        code: 'pattern',
        message: `must match the pattern ${p.pattern}`,
        expected: String(p.pattern),
      }
    case 'minLength':
      return {
        path: at,
        code: 'min_length',
        message: p.limit === 1 ? 'must not be empty' : `must be at least ${p.limit} characters`,
        expected: `>= ${p.limit} characters`,
      }
    case 'maxLength':
      return {
        path: at,
        code: 'max_length',
        message: `must be at most ${p.limit} characters`,
        expected: `<= ${p.limit} characters`,
      }
    case 'maxItems':
      return {
        path: at,
        code: 'too_many_items',
        message: `must have at most ${p.limit} items`,
        expected: `<= ${p.limit} items`,
      }
    case 'maxProperties':
      return {
        path: at,
        code: 'too_many_keys',
        message: `must have at most ${p.limit} keys`,
        expected: `<= ${p.limit} keys`,
      }
    default:
      if (BOUND_KEYWORDS.has(e.keyword)) {
        return {
          path: at,
          code: 'out_of_range',
          message: `must be ${p.comparison} ${p.limit}`,
          expected: `${p.comparison} ${p.limit}`,
        }
      }
      // The rule by its keyword: Ajv's text alone ("must NOT have fewer than 1 items") did not name it.
      return { path: at, code: 'schema_violation', message: `${e.keyword}: ${e.message ?? 'not met'}` }
  }
}

function article(type: unknown): string {
  const t = String(type)
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`
}

/** The JSON types a failed `anyOf` accepted, read from its branch errors. */
function acceptedTypes(branch: ErrorObject[]): string[] {
  const types: string[] = []
  for (const e of branch) if (e.keyword === 'type') types.push(String((e.params as { type: string }).type))
  return types
}

/**
 * Adds the issues for `errors` to `issues`, skipping paths in `skip` (already reported by a more specific
 * rule). `pathPrefix` is prepended to every path (tracking-plan schemas validate `/properties`).
 */
export function formatAjvErrors(
  errors: readonly ErrorObject[],
  root: unknown,
  issues: IssueList,
  options: { skip?: ReadonlySet<string>; pathPrefix?: string; code?: IssueCode } = {},
): void {
  const { skip, pathPrefix = '', code } = options
  // Branch errors of a failed anyOf/oneOf: same schema function (schemaPath prefix) and same value or below.
  const groups = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
  const inGroup = (b: ErrorObject, g: ErrorObject) =>
    b !== g &&
    b.schemaPath.startsWith(`${g.schemaPath}/`) &&
    // At the group's value or inside it: `/arr/10` is not inside `/arr/1`.
    (b.instancePath === g.instancePath || b.instancePath.startsWith(`${g.instancePath}/`))

  const emit = (m: Mapped | null) => {
    if (m === null || skip?.has(m.path)) return
    if (code !== undefined) issues.add(m.path, code, m.message, m.expected)
    else issues.add(m.path, m.code, m.message, m.expected)
  }

  for (const e of errors) {
    // Each error is matched against the groups, and a group against every error: quadratic in the errors.
    // Once the list is full nothing more is reported, so stop there — 5,000 numbers in an array of
    // `anyOf: [string, boolean]` (15,000 errors) took 30 s here, with the event loop blocked.
    if (issues.full) break
    if (groups.some((g) => inGroup(e, g))) continue
    const propertyName = (e as ErrorObject & { propertyName?: string }).propertyName
    if (propertyName !== undefined && e.keyword !== 'propertyNames') {
      // A key refused by `propertyNames`: Ajv reports the value's path; name the key, as for other keys.
      const m = mapAjvError(e, root, pathPrefix)
      if (m !== null)
        emit({
          ...m,
          path: childPath(pathPrefix + e.instancePath, propertyName),
          message: `the key "${propertyName}" ${m.message}`,
        })
      continue
    }
    if (e.keyword !== 'anyOf' && e.keyword !== 'oneOf') {
      emit(mapAjvError(e, root, pathPrefix))
      continue
    }
    const branch = errors.filter((b) => inGroup(b, e))
    if (
      branch.length > 1 &&
      branch.every((b) => b.keyword === 'required' && b.instancePath === e.instancePath)
    ) {
      // {anyOf: [{required: [phone]}, {required: [address]}]}: one finding, not two that read as "both".
      const names = branch.map((b) => `"${(b.params as { missingProperty: string }).missingProperty}"`)
      emit({
        path: pathPrefix + e.instancePath,
        code: 'required',
        message: `${e.keyword === 'oneOf' ? 'exactly one' : 'one'} of ${names.join(', ')} is required`,
      })
      continue
    }
    const specific = branch.filter((b) => !(b.keyword === 'type' && b.instancePath === e.instancePath))
    if (specific.length > 0 && branch.length > 0) {
      for (const b of specific) emit(mapAjvError(b, root, pathPrefix))
      continue
    }
    const types = acceptedTypes(branch)
    const value = valueAt(root, pathPrefix + e.instancePath)
    emit({
      path: pathPrefix + e.instancePath,
      code: types.length > 0 ? 'type' : 'schema_violation',
      message:
        types.length > 0
          ? `must be ${types.map(article).join(' or ')}, not ${jsonType(value)}`
          : (e.message ?? e.keyword),
      expected: types.length > 0 ? types.join(' or ') : undefined,
    })
  }
}

function jsonType(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number'
  return article(typeof v)
}

/** Most allowed values an `enum` finding lists, and most characters of one `expected` text. */
const MAX_LISTED_VALUES = 20
const MAX_EXPECTED_CHARS = 500

/**
 * The allowed values of an `enum`, the first few: every finding is stored with its event (and answered per
 * event), and a 5,000-value enum copied whole made a 102-byte event a 346 KB row.
 */
function listAllowed(values: readonly unknown[]): string {
  const listed = values.slice(0, MAX_LISTED_VALUES).map((v) => JSON.stringify(v) ?? 'undefined')
  const more = values.length - listed.length
  return capText(more > 0 ? `${listed.join(', ')}, … (${more} more)` : listed.join(', '))
}

function capText(text: string): string {
  return text.length <= MAX_EXPECTED_CHARS ? text : `${text.slice(0, MAX_EXPECTED_CHARS)}…`
}
