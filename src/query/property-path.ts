import { AppError } from '../errors/app-error.js'
import { PREDICATE_OPS, type PredicateOp, PropertyPredicateSchema } from '../schema/event-query.js'

/** The JSON columns a predicate may address, by the first segment of its path. */
export const PREDICATE_ROOTS = ['properties', 'context', 'traits'] as const
export type PredicateRoot = (typeof PREDICATE_ROOTS)[number]

/** The same pattern the HTTP schema enforces (read from it, so the two cannot drift). */
export const PROPERTY_PATH_PATTERN = new RegExp(PropertyPredicateSchema.properties.path.pattern as string)
const KEY_PATTERN = /^[A-Za-z0-9_$-]{1,64}$/

export type PredicateScalar = string | number | boolean | null

/** A predicate checked for SQL building: a known column, plain keys, a value of the right kind for `op`. */
export interface CheckedPredicate {
  readonly root: PredicateRoot
  readonly keys: readonly string[]
  readonly op: PredicateOp
  /** `in`: the list; `exists`: whether the path must exist; others: the scalar. */
  readonly value: PredicateScalar | readonly PredicateScalar[]
}

/** A refused predicate, its details in the one shape of `validation_failed` (path, keyword, message). */
function invalid(message: string, params: { path?: unknown; op?: unknown }): AppError {
  return new AppError('validation_failed', message, {
    details: [{ path: '/where', keyword: 'predicate', message, params }],
  })
}

const isScalar = (v: unknown): v is PredicateScalar =>
  v === null ||
  typeof v === 'string' ||
  typeof v === 'boolean' ||
  (typeof v === 'number' && Number.isFinite(v))

/**
 * Re-checks a property predicate in code (the HTTP layer validated it already; other callers may not
 * have). Paths are matched against the strict pattern and split into plain keys; values must suit the op.
 * Throws AppError('validation_failed').
 */
export function checkPredicate(input: { path: string; op: string; value?: unknown }): CheckedPredicate {
  const { path, op, value } = input
  if (typeof path !== 'string' || path.length > 600 || !PROPERTY_PATH_PATTERN.test(path)) {
    throw invalid(`Invalid property path: ${String(path).slice(0, 100)}`, { path })
  }
  const [root, ...keys] = path.split('.')
  if (!(PREDICATE_ROOTS as readonly string[]).includes(root) || keys.length === 0) {
    throw invalid(`A path must start with ${PREDICATE_ROOTS.join(', ')}`, { path })
  }
  if (!keys.every((k) => KEY_PATTERN.test(k))) throw invalid(`Invalid property path: ${path}`, { path })
  if (!(PREDICATE_OPS as readonly string[]).includes(op)) throw invalid(`Unknown operator ${op}`, { op })
  const o = op as PredicateOp
  const base = { root: root as PredicateRoot, keys, op: o }
  switch (o) {
    case 'exists':
      if (value !== undefined && typeof value !== 'boolean')
        throw invalid('exists takes true or false', { path })
      return { ...base, value: value ?? true }
    case 'in':
      if (!Array.isArray(value) || value.length > 100 || !value.every((v) => isScalar(v) && v !== null)) {
        throw invalid('in takes an array of up to 100 strings, numbers or booleans', { path })
      }
      return { ...base, value }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (typeof value !== 'string' && !(typeof value === 'number' && Number.isFinite(value))) {
        throw invalid(`${o} takes a number or a string`, { path })
      }
      return { ...base, value }
    case 'contains':
      if (!isScalar(value) || value === null)
        throw invalid('contains takes a string, number or boolean', { path })
      return { ...base, value }
    default:
      if (!isScalar(value)) throw invalid(`${o} takes a string, number, boolean or null`, { path })
      return { ...base, value }
  }
}
