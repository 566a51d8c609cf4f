import { canonicalJson } from '../schema/canonical-json.js'
import type { SchemaVer } from './schema-ver.js'
import { schemaVerBump } from './schema-ver.js'

/** Kinds of difference between two versions of a tracking-plan schema. */
export const SCHEMA_CHANGE_KINDS = [
  'property_removed',
  'property_added',
  'required_added',
  'required_removed',
  'type_narrowed',
  'type_widened',
  'enum_value_removed',
  'enum_value_added',
  'enum_added',
  'enum_removed',
  'bound_tightened',
  'bound_loosened',
  'pattern_changed',
  'format_changed',
  'additional_properties_closed',
  'additional_properties_opened',
  'unanalysed_change',
] as const
export type SchemaChangeKind = (typeof SCHEMA_CHANGE_KINDS)[number]

/** One difference; `path` is a JSON Pointer into the validated object (`properties` or `traits`), e.g. `/plan`. */
export interface SchemaChange {
  path: string
  kind: SchemaChangeKind
  breaking: boolean
  reason: string
}

/**
 * How a new version relates to the previous one. `compatible` is false when an event valid under the
 * previous version may fail the new one. `bump` is the SchemaVer part that was raised; `bumpAdvice` is
 * set when a breaking change was registered as a mere REVISION or ADDITION.
 */
export interface CompatibilityReport {
  previousVersion: string
  version: string
  compatible: boolean
  bump: 'model' | 'revision' | 'addition'
  changes: SchemaChange[]
  bumpAdvice?: string
}

type Schema = Record<string, unknown>

const LOWER_BOUNDS = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'] as const
const UPPER_BOUNDS = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'] as const
/** Keywords this analysis understands; a difference in any other keyword is reported, conservatively, as breaking. */
const ANALYSED = new Set<string>([
  ...LOWER_BOUNDS,
  ...UPPER_BOUNDS,
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'pattern',
  'format',
  // annotations: no effect on what validates
  '$schema',
  '$id',
  '$comment',
  'title',
  'description',
  'examples',
  'default',
  'self',
  'deprecated',
  'readOnly',
  'writeOnly',
])

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function typeSet(s: Schema): Set<string> | null {
  if (s.type === undefined) return null
  return new Set(Array.isArray(s.type) ? (s.type as string[]) : [String(s.type)])
}

function allowedValues(s: Schema): unknown[] | null {
  if (Array.isArray(s.enum)) return s.enum
  if ('const' in s) return [s.const]
  return null
}

// Compared whatever their key order: PostgreSQL's jsonb keeps keys in its own order, so plain JSON text
// reported every unchanged $defs, oneOf branch or object enum value of a stored version as a breaking change.
const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b)
/** What `same` compares, as a key for sets. */
const valueKey = (v: unknown) => canonicalJson(v)

function join(path: string, key: string): string {
  return `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`
}

/** Lists the differences between `before` and `after`, recursing into `properties` and `items`. */
export function diffSchemas(before: unknown, after: unknown, path = ''): SchemaChange[] {
  const changes: SchemaChange[] = []
  const add = (kind: SchemaChangeKind, breaking: boolean, reason: string, at = path) =>
    changes.push({ path: at, kind, breaking, reason })
  if (!isSchema(before) || !isSchema(after)) {
    if (!same(before, after)) add('unanalysed_change', true, 'boolean or non-object schema changed')
    return changes
  }

  const oldTypes = typeSet(before)
  const newTypes = typeSet(after)
  if (newTypes !== null) {
    const covered = (t: string) => newTypes.has(t) || (t === 'integer' && newTypes.has('number'))
    const lost = oldTypes === null ? ['any type'] : [...oldTypes].filter((t) => !covered(t))
    if (lost.length > 0) add('type_narrowed', true, `type no longer accepts ${lost.join(', ')}`)
  }
  if (oldTypes !== null) {
    // `integer` is no gain where `number` was accepted (number → integer said "now also accepts integer").
    const had = (t: string) => oldTypes.has(t) || (t === 'integer' && oldTypes.has('number'))
    const gained = newTypes === null ? ['any type'] : [...newTypes].filter((t) => !had(t))
    if (gained.length > 0) add('type_widened', false, `type now also accepts ${gained.join(', ')}`)
  }

  const oldEnum = allowedValues(before)
  const newEnum = allowedValues(after)
  if (newEnum !== null && oldEnum === null) add('enum_added', true, 'values are now restricted to a list')
  if (newEnum === null && oldEnum !== null)
    add('enum_removed', false, 'values are no longer restricted to a list')
  if (newEnum !== null && oldEnum !== null) {
    // By key, not pairwise: two 40,000-value lists compared pairwise took minutes, and a plan reload
    // re-diffs every stored version (a user's trial hung the server so).
    const oldKeys = new Set(oldEnum.map(valueKey))
    const newKeys = new Set(newEnum.map(valueKey))
    const removed = oldEnum.filter((v) => !newKeys.has(valueKey(v)))
    const added = newEnum.filter((v) => !oldKeys.has(valueKey(v)))
    if (removed.length > 0)
      add(
        'enum_value_removed',
        true,
        `no longer allowed: ${removed.map((v) => JSON.stringify(v)).join(', ')}`,
      )
    if (added.length > 0)
      add('enum_value_added', false, `newly allowed: ${added.map((v) => JSON.stringify(v)).join(', ')}`)
  }

  for (const k of LOWER_BOUNDS) {
    const o = before[k]
    const n = after[k]
    if (typeof n === 'number' && (typeof o !== 'number' || n > o))
      add('bound_tightened', true, `${k} raised from ${o ?? 'none'} to ${n}`)
    else if (typeof o === 'number' && (typeof n !== 'number' || n < o))
      add('bound_loosened', false, `${k} lowered from ${o} to ${n ?? 'none'}`)
  }
  for (const k of UPPER_BOUNDS) {
    const o = before[k]
    const n = after[k]
    if (typeof n === 'number' && (typeof o !== 'number' || n < o))
      add('bound_tightened', true, `${k} lowered from ${o ?? 'none'} to ${n}`)
    else if (typeof o === 'number' && (typeof n !== 'number' || n > o))
      add('bound_loosened', false, `${k} raised from ${o} to ${n ?? 'none'}`)
  }
  for (const k of ['pattern', 'format'] as const) {
    if (after[k] !== undefined && after[k] !== before[k]) {
      add(
        k === 'pattern' ? 'pattern_changed' : 'format_changed',
        true,
        `${k} ${before[k] === undefined ? 'added' : 'changed'}: ${String(after[k])}`,
      )
    } else if (after[k] === undefined && before[k] !== undefined) {
      add(k === 'pattern' ? 'pattern_changed' : 'format_changed', false, `${k} removed`)
    }
  }

  const oldRequired = new Set(Array.isArray(before.required) ? (before.required as string[]) : [])
  const newRequired = new Set(Array.isArray(after.required) ? (after.required as string[]) : [])
  for (const r of newRequired)
    if (!oldRequired.has(r)) add('required_added', true, `"${r}" is newly required`, join(path, r))
  for (const r of oldRequired)
    if (!newRequired.has(r)) add('required_removed', false, `"${r}" is no longer required`, join(path, r))

  const oldProps = isSchema(before.properties) ? before.properties : {}
  const newProps = isSchema(after.properties) ? after.properties : {}
  // A property's definition removed: its values are then checked as any unlisted property — refused when
  // unlisted ones are (`false`) or constrained (a schema); otherwise anything goes, which breaks nothing.
  const unlisted = after.additionalProperties
  // `propertyNames` and `patternProperties` may refuse or constrain the name too: not analysed, so breaking.
  const removalBreaks =
    unlisted === false ||
    isSchema(unlisted) ||
    after.propertyNames !== undefined ||
    after.patternProperties !== undefined
  for (const key of Object.keys(oldProps)) {
    if (!Object.hasOwn(newProps, key))
      add(
        'property_removed',
        removalBreaks,
        removalBreaks
          ? `property "${key}" was removed; it now falls under additionalProperties, propertyNames or patternProperties`
          : `property "${key}" was removed; any value is accepted for it now`,
        join(path, key),
      )
    else changes.push(...diffSchemas(oldProps[key], newProps[key], join(path, key)))
  }
  for (const key of Object.keys(newProps)) {
    if (!Object.hasOwn(oldProps, key))
      add('property_added', false, `property "${key}" was added`, join(path, key))
  }

  const oldAdditional = before.additionalProperties
  const newAdditional = after.additionalProperties
  if (newAdditional === false && oldAdditional !== false)
    add('additional_properties_closed', true, 'unlisted properties are no longer accepted')
  else if (oldAdditional === false && newAdditional !== false)
    add('additional_properties_opened', false, 'unlisted properties are now accepted')
  else if (isSchema(oldAdditional) && isSchema(newAdditional))
    changes.push(...diffSchemas(oldAdditional, newAdditional, `${path}/*`))
  else if (isSchema(newAdditional) && oldAdditional === undefined)
    add('unanalysed_change', true, 'unlisted properties are now constrained')

  if (before.items !== undefined || after.items !== undefined) {
    if (before.items === undefined) add('unanalysed_change', true, 'array items are now constrained')
    else if (after.items !== undefined)
      changes.push(...diffSchemas(before.items, after.items, `${path}/items`))
  }

  const keywords = new Set([...Object.keys(before), ...Object.keys(after)])
  for (const k of keywords) {
    if (!ANALYSED.has(k) && !same(before[k], after[k])) {
      add('unanalysed_change', true, `"${k}" changed; not analysed, so treated as breaking`)
    }
  }
  return changes
}

/** The report `TrackingPlan.register` returns for a new version of an existing schema. */
export function checkCompatibility(
  previous: { version: string; ver: SchemaVer; jsonSchema: unknown },
  next: { version: string; ver: SchemaVer; jsonSchema: unknown },
): CompatibilityReport {
  const changes = diffSchemas(previous.jsonSchema, next.jsonSchema)
  const compatible = !changes.some((c) => c.breaking)
  const bump = schemaVerBump(previous.ver, next.ver)
  const report: CompatibilityReport = {
    previousVersion: previous.version,
    version: next.version,
    compatible,
    bump,
    changes,
  }
  // SchemaVer: ADDITION is compatible with all earlier data, REVISION may break some of it, MODEL any.
  if (!compatible && bump === 'addition') {
    report.bumpAdvice = `breaking changes raise REVISION (e.g. ${next.ver.model}-${next.ver.revision + 1}-0) or MODEL (${next.ver.model + 1}-0-0), not ADDITION`
  }
  return report
}
