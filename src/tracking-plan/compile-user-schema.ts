import { Ajv, type Options, type ValidateFunction } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { AppError } from '../errors/app-error.js'
import { registerFormats } from '../validate/formats.js'
import { linearRegExpEngine, storedRegExpEngine } from './linear-regex.js'

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
 * Compiles tracking-plan schemas. Holds one Ajv instance per dialect and pattern mode, made on first use.
 * Each schema is removed from the instance's registry right after compiling, so two versions (or two
 * projects) that reuse one `$id` never collide; the compiled function keeps working.
 */
/** Most values one `enum` may list, and all `enum`s of a schema together. */
export const MAX_ENUM_VALUES = 5_000
export const MAX_ENUM_VALUES_PER_SCHEMA = 20_000

/**
 * Refuses enums too long to check. The meta-schema says an enum's values are unique, and Ajv checks that
 * pairwise (values of any type): a 40,000-value enum took 4 s of blocked event loop per compile, and a plan
 * reload compiles every stored version. Bounded here, the worst schema costs well under a second.
 */
function assertEnumSizes(schema: unknown): void {
  let total = 0
  const walk = (node: unknown, path: string): void => {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) walk(node[i], `${path}/${i}`)
      return
    }
    if (node === null || typeof node !== 'object') return
    for (const [key, value] of Object.entries(node)) {
      const at = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`
      if (key === 'enum' && Array.isArray(value)) {
        if (value.length > MAX_ENUM_VALUES) {
          throw new AppError(
            'schema_invalid',
            `${at} lists ${value.length} values; an enum may list at most ${MAX_ENUM_VALUES}`,
          )
        }
        total += value.length
        if (total > MAX_ENUM_VALUES_PER_SCHEMA) {
          throw new AppError(
            'schema_invalid',
            `the schema's enums list more than ${MAX_ENUM_VALUES_PER_SCHEMA} values together`,
          )
        }
        continue
      }
      walk(value, at)
    }
  }
  walk(schema, '')
}

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

  /** Compiles `schema`; an invalid schema becomes `AppError('schema_invalid')` with Ajv's message. */
  compile(schema: unknown, patterns: PatternMode = 'registered'): ValidateFunction {
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
      throw new AppError('schema_invalid', 'a tracking-plan schema must be a JSON object')
    }
    const dialect = schemaDialect(schema as Record<string, unknown>)
    if (patterns === 'registered') assertEnumSizes(schema)
    const ajv = this.#ajv(dialect, patterns)
    try {
      const validate = ajv.compile(schema)
      return validate
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
    }
  }
}
