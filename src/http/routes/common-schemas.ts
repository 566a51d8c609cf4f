import { type TSchema, Type } from '@sinclair/typebox'

/** The one error body: `{ error: { code, message, statusCode, details? } }` (docs/errors.md). */
export const ErrorBodySchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable error code; see docs/errors.md.' }),
      message: Type.String(),
      statusCode: Type.Integer(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { description: 'An error.' },
)

/** Error responses for the OpenAPI document, by status. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorBodySchema> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorBodySchema]))
}

/**
 * A copy of a schema without `$id`s. The model schemas carry stable `$id`s (schema/), but one Ajv instance
 * compiles every route, and compiling the same `$id` twice is an error; routes therefore use inline copies.
 */
export function inline<T extends TSchema>(schema: T): T {
  return strip(schema) as T
}

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string | symbol, unknown> = {}
  for (const key of Object.keys(value))
    if (key !== '$id') out[key] = strip((value as Record<string, unknown>)[key])
  // TypeBox keeps its kind on symbol keys; keep them so Type helpers still recognise the copy.
  for (const sym of Object.getOwnPropertySymbols(value)) out[sym] = (value as Record<symbol, unknown>)[sym]
  return out
}

export const BEARER = [{ bearer: [] }]
