import { createHash } from 'node:crypto'
import { Ajv, type Options, type ValidateFunction } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { AppError } from '../errors/app-error.js'
import { registerFormats } from '../validate/formats.js'
import { escapePointer } from '../validate/issue-list.js'
import { linearRegExpEngine, storedRegExpEngine } from './linear-regex.js'
import { DATA_KEYWORDS, SCHEMA_MAPS } from './schema-keywords.js'

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv | Ajv2020,
) => void

/** JSON Schema dialects a tracking-plan schema may declare in `$schema` (draft-07 when absent). */
export const SUPPORTED_DIALECTS = {
  'draft-07': ['http://json-schema.org/draft-07/schema', 'https://json-schema.org/draft-07/schema'],
  '2020-12': ['https://json-schema.org/draft/2020-12/schema', 'http://json-schema.org/draft/2020-12/schema'],
} as const
export type SchemaDialect = keyof typeof SUPPORTED_DIALECTS

const USER_AJV_OPTIONS: Options = {
  allErrors: true,
  // Strict about keywords (a typo such as "requried" is an error, not a silently ignored key), lenient
  // about the type-coverage hints Ajv would otherwise only log.
  strict: true,
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  validateFormats: true,
  // Ajv's strict check that no `properties` name matches a sibling `patternProperties` regex runs the
  // regex on JavaScript's backtracking engine; `assertSafePatterns` makes the same check on RE2 instead.
  allowMatchingProperties: true,
  // Every `$ref` a call, never a copy of its target's code: inlined, a 10 KB schema referring 200 times to
  // a 100-property definition took 9.6 s to compile (and 62 KB ran out of memory).
  inlineRefs: false,
}

/**
 * Which regex engine runs the schema's `pattern` and `patternProperties`: `registered` (a new schema) only
 * the linear-time one, refusing what it cannot run; `stored` (loaded from the database) the linear-time
 * one where it can, JavaScript's for the rest, so that an existing plan keeps loading.
 */
export type PatternMode = 'registered' | 'stored'

/** Which dialect `schema.$schema` names; throws `schema_invalid` for any other. */
export function schemaDialect(schema: Record<string, unknown>): SchemaDialect {
  const declared = schema.$schema
  if (declared === undefined) return 'draft-07'
  const uri = typeof declared === 'string' ? declared.replace(/#$/, '') : ''
  for (const [dialect, uris] of Object.entries(SUPPORTED_DIALECTS)) {
    if ((uris as readonly string[]).includes(uri)) return dialect as SchemaDialect
  }
  throw new AppError(
    'schema_invalid',
    `unsupported $schema ${JSON.stringify(declared)}; use draft-07 or 2020-12`,
  )
}

/**
 * Most items a `uniqueItems` array of non-scalar items may be declared to hold (`maxItems`). Ajv checks
 * such uniqueness pairwise: 5,500 numbers in an untyped array took ~200 ms per event, and any write key
 * could send them. Items of one scalar `type` are checked with a hash instead, at any length.
 */
export const MAX_PAIRWISE_UNIQUE_ITEMS = 200
const SCALAR_TYPES: ReadonlySet<unknown> = new Set(['string', 'number', 'integer', 'boolean', 'null'])

/** Whether Ajv checks `uniqueItems` on this schema node in linear time (items of scalar types only). */
function hasScalarItems(node: Record<string, unknown>): boolean {
  const items = node.items
  if (items === null || typeof items !== 'object' || Array.isArray(items)) return false
  const type = (items as { type?: unknown }).type
  const types = Array.isArray(type) ? type : type === undefined ? [] : [type]
  return types.length > 0 && types.every((t) => SCALAR_TYPES.has(t))
}

/** Most values one `enum` may list, and all `enum`s of a schema together. */
export const MAX_ENUM_VALUES = 5_000
export const MAX_ENUM_VALUES_PER_SCHEMA = 20_000

/**
 * Keywords a tracking-plan schema may not use, and why:
 * - `$async`: Ajv compiles it to a validator that answers a Promise; the plan checks events synchronously.
 * - `$dynamicRef`/`$dynamicAnchor`, `$recursiveRef`/`$recursiveAnchor`: references resolved at run time,
 *   which `ref-cycles.ts` cannot follow — a cycle through them overflowed the stack on every matching event.
 */
const UNSUPPORTED_KEYWORDS = ['$async', '$dynamicRef', '$dynamicAnchor', '$recursiveRef', '$recursiveAnchor']

/**
 * One walk over the schema's keywords (not over data: `enum`, `default`… values, property names):
 * - refuses the unsupported keywords above;
 * - for new schemas (`isNewSchema`), refuses enums too long to check. The meta-schema says an enum's
 *   values are unique, and Ajv checks that pairwise: a 40,000-value enum took 4 s of blocked event loop per
 *   compile, and a plan reload compiled every stored version. Bounded, the worst schema costs well under a
 *   second.
 * - for new schemas (`isNewSchema`), refuses `uniqueItems` that events could make quadratic
 *   (MAX_PAIRWISE_UNIQUE_ITEMS).
 */
function assertCompilableShape(schema: unknown, isNewSchema: boolean): void {
  let enumValues = 0
  const pointer = (path: string, key: string) => `${path}/${escapePointer(key)}`
  const walk = (node: unknown, path: string): void => {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) walk(node[i], `${path}/${i}`)
      return
    }
    if (node === null || typeof node !== 'object') return
    for (const [key, value] of Object.entries(node)) {
      const at = pointer(path, key)
      if (UNSUPPORTED_KEYWORDS.includes(key)) {
        throw new AppError('schema_invalid', `${at}: "${key}" is not supported in tracking-plan schemas`)
      }
      if (key === 'enum' && isNewSchema && Array.isArray(value)) {
        if (value.length > MAX_ENUM_VALUES) {
          throw new AppError(
            'schema_invalid',
            `${at} lists ${value.length} values; an enum may list at most ${MAX_ENUM_VALUES}`,
          )
        }
        enumValues += value.length
        if (enumValues > MAX_ENUM_VALUES_PER_SCHEMA) {
          throw new AppError(
            'schema_invalid',
            `the schema's enums list more than ${MAX_ENUM_VALUES_PER_SCHEMA} values together`,
          )
        }
      }
      if (key === 'uniqueItems' && value === true && isNewSchema) {
        const owner = node as Record<string, unknown>
        const maxItems = owner.maxItems
        const bounded = typeof maxItems === 'number' && maxItems <= MAX_PAIRWISE_UNIQUE_ITEMS
        if (!bounded && !hasScalarItems(owner)) {
          throw new AppError(
            'schema_invalid',
            `${at}: uniqueItems on items of any type is checked pair by pair (n² comparisons: 5,500 values took ~200 ms per event); give "items" a scalar "type" (string, number, integer, boolean, null) or set "maxItems" to at most ${MAX_PAIRWISE_UNIQUE_ITEMS}`,
          )
        }
      }
      if (DATA_KEYWORDS.has(key)) continue
      if (SCHEMA_MAPS.has(key) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        for (const [name, sub] of Object.entries(value)) walk(sub, pointer(at, name))
        continue
      }
      walk(value, at)
    }
  }
  walk(schema, '')
}

/**
 * Compiled stored schemas by content (SHA-256 of their JSON), shared by every plan of the process: a
 * compiled validator is a pure function, whichever Ajv instance made it. Failures are kept too, so a
 * stored schema that no longer compiles is not retried on every reload. Least recently used out first.
 */
const STORED_COMPILES = new Map<string, ValidateFunction | AppError>()
const MAX_STORED_COMPILES = 5_000

/**
 * Compiles tracking-plan schemas. Holds one Ajv instance per dialect and pattern mode, made on first use.
 * Every schema Ajv registers while compiling one (root and nested `$id`s) is removed right after, so two
 * versions (or two schemas) that reuse an `$id` never collide; the compiled function keeps working.
 */
export class UserSchemaCompiler {
  #instances = new Map<string, Ajv | Ajv2020>()

  #ajv(dialect: SchemaDialect, patterns: PatternMode): Ajv | Ajv2020 {
    const key = `${dialect} ${patterns}`
    let ajv = this.#instances.get(key)
    if (ajv === undefined) {
      const regExp = patterns === 'stored' ? storedRegExpEngine : linearRegExpEngine
      // A stored schema passed the meta-schema when it was registered; checking it again on every plan
      // reload would cost the most where it matters least (an enum's pairwise uniqueness check above all).
      const options: Options = {
        ...USER_AJV_OPTIONS,
        code: { regExp },
        ...(patterns === 'stored' ? { validateSchema: false } : {}),
      }
      ajv = dialect === '2020-12' ? new Ajv2020(options) : new Ajv(options)
      addFormats(ajv)
      registerFormats(ajv as Ajv)
      ajv.addKeyword('self') // Snowplow's self-describing header: an annotation
      this.#instances.set(key, ajv)
    }
    return ajv
  }

  /**
   * Compiles `schema`; an invalid schema becomes `AppError('schema_invalid')` with Ajv's message. Stored
   * schemas are compiled once per process and content (STORED_COMPILES): a project's plan is rebuilt
   * from the database every 30 s and on every schema PUT, and recompiling a large schema each time froze
   * the server for seconds.
   */
  compile(schema: unknown, patterns: PatternMode = 'registered'): ValidateFunction {
    if (patterns !== 'stored') return this.#compile(schema, patterns)
    const cacheKey = createHash('sha256').update(JSON.stringify(schema)).digest('base64')
    const hit = STORED_COMPILES.get(cacheKey)
    if (hit !== undefined) {
      STORED_COMPILES.delete(cacheKey) // most recently used last
      STORED_COMPILES.set(cacheKey, hit)
      if (hit instanceof AppError) throw hit
      return hit
    }
    let outcome: ValidateFunction | AppError
    try {
      outcome = this.#compile(schema, patterns)
    } catch (err) {
      if (!(err instanceof AppError)) throw err
      outcome = err
    }
    if (STORED_COMPILES.size >= MAX_STORED_COMPILES) {
      STORED_COMPILES.delete(STORED_COMPILES.keys().next().value as string)
    }
    STORED_COMPILES.set(cacheKey, outcome)
    if (outcome instanceof AppError) throw outcome
    return outcome
  }

  #compile(schema: unknown, patterns: PatternMode): ValidateFunction {
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
      throw new AppError('schema_invalid', 'a tracking-plan schema must be a JSON object')
    }
    const dialect = schemaDialect(schema as Record<string, unknown>)
    // Stored schemas too: an async validator answers a Promise, which the plan's check took for "valid"
    // and whose rejection killed the process.
    assertCompilableShape(schema, patterns === 'registered')
    const ajv = this.#ajv(dialect, patterns)
    // Every schema Ajv registers while compiling this one (its root `$id` and any nested `$id`) is removed
    // afterwards: left in the instance, a nested `$id` made a later schema with that `$id` uncompilable —
    // and a plan reload then failed for the whole project.
    const known = new Set([...Object.keys(ajv.schemas), ...Object.keys(ajv.refs)])
    try {
      return ajv.compile(schema)
    } catch (err) {
      throw new AppError('schema_invalid', `invalid JSON Schema (${dialect}): ${(err as Error).message}`, {
        cause: err,
        details: { dialect, errors: ajv.errors ?? undefined },
      })
    } finally {
      try {
        ajv.removeSchema(schema)
      } catch {
        // nothing was registered
      }
      for (const id of [...Object.keys(ajv.schemas), ...Object.keys(ajv.refs)]) {
        if (!known.has(id)) ajv.removeSchema(id)
      }
    }
  }
}
