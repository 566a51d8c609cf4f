import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
import { EVENT_CREATE_SCHEMAS, type EventCreate } from '../schema/event-create.js'
import { isPlainText, registerFormats } from './formats.js'

/**
 * The one Ajv instance for the built-in event model, and the event validator compiled from it once.
 *
 * How the union is compiled, and why (each measured in bench/validate.ts):
 * - `oneOf` + `discriminator` on `type`: Ajv jumps straight to the branch, instead of trying nine.
 * - TypeBox emits `anyOf` of `const`s for literal unions and `patternProperties: {"^(.*)$": {}}` for
 *   `Record<string, unknown>`; both are rewritten (`enum`, plain `type: object`) before compiling, which
 *   drops a regex test per property key and gives one `enum` error instead of N `const` errors.
 * - `unicode: false`: `maxLength` counts UTF-16 code units (the unit our limits are in) with `.length`
 *   instead of walking every string to count code points.
 */

const AJV_OPTIONS: Options = {
  allErrors: true,
  discriminator: true,
  inlineRefs: false,
  strict: true,
  strictTypes: false,
  unicode: false,
  messages: true,
  // `unicode` is deprecated in Ajv 8 but still honoured; keep its one-time notice out of the logs.
  logger: {
    log: () => {},
    warn: (...args: unknown[]) => {
      if (!String(args[0]).startsWith('DEPRECATED: option unicode')) console.warn(...args)
    },
    error: (...args: unknown[]) => console.error(...args),
  },
}

type JsonSchema = Record<string, unknown>

function isConstBranch(s: unknown): s is { const: unknown; type?: string } {
  return typeof s === 'object' && s !== null && 'const' in s
}

/** Deep copy without TypeBox's symbol keys, with the two rewrites described above. */
export function prepareSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(prepareSchema)
  if (typeof schema !== 'object' || schema === null) return schema
  const src = schema as JsonSchema
  if (Array.isArray(src.anyOf) && src.anyOf.length > 0 && src.anyOf.every(isConstBranch)) {
    const branches = src.anyOf as { const: unknown; type?: string }[]
    const types = new Set(branches.map((b) => b.type))
    const out: JsonSchema = { enum: branches.map((b) => b.const) }
    if (types.size === 1 && [...types][0] !== undefined) out.type = [...types][0]
    if (src.description !== undefined) out.description = src.description
    return out
  }
  const out: JsonSchema = {}
  for (const key of Object.keys(src)) {
    if (key === 'patternProperties') {
      const pp = src.patternProperties as JsonSchema
      const keys = Object.keys(pp)
      const anyKey = keys.length === 1 && (keys[0] === '^(.*)$' || keys[0] === '^.*$')
      if (anyKey && Object.keys(pp[keys[0]] as JsonSchema).every((k) => k === 'description')) continue
    }
    out[key] = prepareSchema(src[key])
  }
  return out
}

const CONTEXT_REF = 'tally:context'
const variantRef = (type: string) => `tally:event/${type}`

/**
 * The schemas Ajv compiles for `EventCreate`: each variant, and `context`, as its own schema referenced by
 * `$ref` (with `inlineRefs: false`, so each becomes its own function), and the union over them.
 *
 * Why not one schema: inlined, the nine variants and nine copies of `context` generate ~400 KB of source
 * in ONE function — far beyond what V8's optimising compiler accepts, so it would run unoptimised forever.
 */
export function buildEventCreateJsonSchemas(): { union: JsonSchema; parts: JsonSchema[] } {
  const context = prepareSchema(EVENT_CREATE_SCHEMAS.track.properties.context) as JsonSchema
  const parts: JsonSchema[] = [{ ...context, $id: CONTEXT_REF }]
  for (const [type, schema] of Object.entries(EVENT_CREATE_SCHEMAS)) {
    const variant = prepareSchema(schema) as JsonSchema & { properties: JsonSchema }
    variant.properties = { ...variant.properties, context: { $ref: CONTEXT_REF } }
    parts.push({ ...variant, $id: variantRef(type) })
  }
  const union: JsonSchema = {
    $id: 'tally:event-create',
    type: 'object',
    required: ['type'],
    properties: { type: { type: 'string' } },
    discriminator: { propertyName: 'type' },
    oneOf: Object.keys(EVENT_CREATE_SCHEMAS).map((type) => ({ $ref: variantRef(type) })),
  }
  return { union, parts }
}

/** Formats that accept only text without control characters or lone surrogates. */
const PLAIN_FORMATS = new Set(['plain-text', 'iso-date-time'])

/** The longest string a top-level property schema accepts when every string it accepts is plain; else null. */
function plainStringBound(schema: JsonSchema, parts: ReadonlyMap<string, JsonSchema>): number | null {
  if (typeof schema.$ref === 'string') {
    const target = parts.get(schema.$ref)
    return target !== undefined && target.type === 'object' ? 0 : null
  }
  if (Array.isArray(schema.anyOf)) {
    let bound = 0
    for (const branch of schema.anyOf as JsonSchema[]) {
      const b = plainStringBound(branch, parts)
      if (b === null) return null
      bound = Math.max(bound, b)
    }
    return bound
  }
  switch (schema.type) {
    case 'object':
    case 'integer':
    case 'number':
    case 'boolean':
      return 0
    case 'string':
      if (typeof schema.const === 'string') return isPlainText(schema.const) ? schema.const.length : null
      if (Array.isArray(schema.enum)) {
        const ok = schema.enum.every((v) => typeof v === 'string' && isPlainText(v))
        return ok ? Math.max(0, ...schema.enum.map((v) => (v as string).length)) : null
      }
      if (PLAIN_FORMATS.has(schema.format as string) && typeof schema.maxLength === 'number')
        return schema.maxLength
      return null
    default:
      return null
  }
}

/**
 * What the compiled model guarantees about an event's top-level strings: when it accepts an event, every
 * top-level key is a declared one (`additionalProperties: false` in each variant) and every top-level
 * string value is plain text (`plain-text`, `iso-date-time` or an enum) of at most this many characters.
 * The validator then leaves those strings to the schema instead of checking them twice. `Infinity` when
 * the model stops guaranteeing it (a new top-level field without such a format): the walk checks them all.
 */
export function rootPlainStringBound(): number {
  const { parts } = buildEventCreateJsonSchemas()
  const byId = new Map(parts.map((p) => [p.$id as string, p]))
  let bound = 0
  for (const part of parts) {
    if (part.$id === CONTEXT_REF) continue
    if (part.additionalProperties !== false) return Number.POSITIVE_INFINITY
    for (const [key, schema] of Object.entries(part.properties as Record<string, JsonSchema>)) {
      const b = plainStringBound(schema, byId)
      if (b === null) return Number.POSITIVE_INFINITY
      bound = Math.max(bound, b, key.length)
    }
  }
  return bound
}

/** A new Ajv instance with Tally's options and formats. */
export function createEventAjv(): Ajv {
  const ajv = new Ajv(AJV_OPTIONS)
  registerFormats(ajv)
  return ajv
}

export interface CompiledEventSchema {
  /** Checks an event against the built-in model; on failure `errors` holds Ajv's errors (all of them). */
  validate: ValidateFunction<EventCreate>
}

let compiled: CompiledEventSchema | undefined
let rootBound: number | undefined

/** `rootPlainStringBound()`, computed once. */
export function getRootPlainStringBound(): number {
  rootBound ??= rootPlainStringBound()
  return rootBound
}

/** The compiled built-in validator; compiled on first use, then shared by every `EventValidator`. */
export function getCompiledEventSchema(): CompiledEventSchema {
  if (compiled === undefined) {
    const ajv = createEventAjv()
    const { union, parts } = buildEventCreateJsonSchemas()
    for (const part of parts) ajv.addSchema(part)
    compiled = { validate: ajv.compile<EventCreate>(union) }
  }
  return compiled
}

export type { ErrorObject }
