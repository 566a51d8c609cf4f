import type { ParseArgsConfig } from 'node:util'
import type { TSchema } from '@sinclair/typebox'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import ajvFormatsModule from 'ajv-formats'
import { AppError } from '../errors/app-error.js'
import {
  type EventQuery,
  EventQuerySchema,
  type PredicateOp,
  type PropertyPredicate,
} from '../schema/event-query.js'
import { acceptIsoDateTimes, registerFormats } from '../validate/formats.js'

/**
 * The event filters `export`, `query` and `stats` share, parsed from flags into an `EventQuery` and
 * checked with the EventQuery TypeBox schema, so a bad filter is a usage error (exit 2) naming the flag.
 */

/** Filter flags (lists repeat: `--type page --type track`, or `--type page,track`). */
export const FILTER_OPTIONS = {
  type: { type: 'string', multiple: true },
  name: { type: 'string', multiple: true },
  user: { type: 'string' },
  'anonymous-id': { type: 'string' },
  session: { type: 'string' },
  'message-id': { type: 'string' },
  status: { type: 'string', multiple: true },
  from: { type: 'string' },
  to: { type: 'string' },
  where: { type: 'string', multiple: true },
} as const satisfies ParseArgsConfig['options']

export const FILTER_HELP = `Filters (AND-ed; a repeated list flag matches any of its values):
  --type TYPE           event type; repeat or comma-separate (track, page, performance, …)
  --name NAME           event name; repeatable
  --user ID             userId
  --anonymous-id ID     anonymousId
  --session ID          sessionId
  --message-id ID       messageId (the client's idempotency key)
  --status STATUS       received | processing | processed | failed; repeatable
  --from TIME           timestamp >= TIME (ISO 8601 with zone, or YYYY-MM-DD = midnight UTC)
  --to TIME             timestamp <  TIME
  --where PREDICATE     on properties/context/traits; repeatable:
                          properties.plan=pro        equal        (also !=, >, >=, <, <=)
                          properties.tags~beta       contains (substring, or array member)
                          ?properties.coupon         exists;  !?properties.coupon  does not exist
                          properties.plan=in:pro,team  one of
                        values are JSON when they parse as JSON (5, true, null, "5"), text otherwise`

/** Parsed filter flags as `parseArgs` returns them. */
export interface FilterValues {
  type?: string[]
  name?: string[]
  user?: string
  'anonymous-id'?: string
  session?: string
  'message-id'?: string
  status?: string[]
  from?: string
  to?: string
  where?: string[]
}

/** Which flag each EventQuery field came from, for messages. */
const FLAG_OF: Record<string, string> = {
  types: '--type',
  names: '--name',
  userId: '--user',
  anonymousId: '--anonymous-id',
  sessionId: '--session',
  messageId: '--message-id',
  status: '--status',
  from: '--from',
  to: '--to',
  where: '--where',
  order: '--order',
  limit: '--limit',
  cursor: '--cursor',
}

// ajv-formats is CommonJS; under NodeNext its default import is the module object on some toolchains.
const addFormats = ((ajvFormatsModule as unknown as { default?: unknown }).default ?? ajvFormatsModule) as (
  ajv: Ajv,
) => Ajv

/**
 * An Ajv with the HTTP layer's formats and defaults. `coerce` turns flag strings into the numbers and lists
 * a schema asks for — only for schemas without scalar unions: Ajv coerces into a union's FIRST branch, so a
 * `--where` value of 100 or false would become the string "100" / "false".
 */
export function createFlagAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    coerceTypes: coerce ? 'array' : false,
    useDefaults: true,
    verbose: true,
  })
  addFormats(ajv)
  registerFormats(ajv)
  acceptIsoDateTimes(ajv)
  return ajv
}

const ajv = createFlagAjv(false)
const validateQuery = ajv.compile<EventQuery>({ ...EventQuerySchema, $id: undefined })

const OPERATORS: ReadonlyArray<readonly [string, PredicateOp]> = [
  ['!=', 'ne'],
  ['>=', 'gte'],
  ['<=', 'lte'],
  ['=', 'eq'],
  ['>', 'gt'],
  ['<', 'lt'],
  ['~', 'contains'],
]

/** A value as typed: JSON when it parses as a JSON scalar, otherwise the text itself. */
function parseValue(text: string): string | number | boolean | null {
  const t = text.trim()
  if (t === '') return ''
  try {
    const v = JSON.parse(t) as unknown
    if (v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return v
  } catch {
    // not JSON: plain text
  }
  return text
}

/**
 * Parses one `--where` predicate of the mini-syntax (see FILTER_HELP) into an EventQuery predicate.
 * Throws AppError('usage') when it has no operator.
 *
 * @example
 * parseWherePredicate('properties.durationMs>=500') // { path: 'properties.durationMs', op: 'gte', value: 500 }
 */
export function parseWherePredicate(text: string): PropertyPredicate {
  const input = text.trim()
  if (input.startsWith('!?')) return { path: input.slice(2).trim(), op: 'exists', value: false }
  if (input.startsWith('?')) return { path: input.slice(1).trim(), op: 'exists', value: true }
  const m = /^([A-Za-z0-9_$.-]+)\s*(!=|>=|<=|=|>|<|~)(.*)$/s.exec(input)
  if (m === null) {
    throw new AppError(
      'usage',
      `--where ${JSON.stringify(text)}: expected PATH OP VALUE (ops = != > >= < <= ~), ?PATH or !?PATH`,
    )
  }
  const [, path, symbol, rest] = m
  const op = OPERATORS.find(([s]) => s === symbol)?.[1] as PredicateOp
  if (op === 'eq' && rest.startsWith('in:')) {
    const items = rest.slice(3).split(',').map(parseValue)
    return { path, op: 'in', value: items as PropertyPredicate['value'] }
  }
  return { path, op, value: parseValue(rest) }
}

/** `2026-11-01` → midnight UTC; anything else is passed on for the schema to judge. */
function normaliseTime(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  return /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value
}

function splitList(values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined
  return values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '')
}

/** The EventQuery the filter flags (plus any of limit/cursor/order) stand for; throws AppError('usage'). */
export function buildEventQuery(
  values: FilterValues,
  extra: { limit?: string; cursor?: string; order?: string } = {},
): EventQuery {
  const query: Record<string, unknown> = {}
  const set = (key: string, value: unknown) => {
    if (value !== undefined) query[key] = value
  }
  set('types', splitList(values.type))
  set('names', values.name)
  set('userId', values.user)
  set('anonymousId', values['anonymous-id'])
  set('sessionId', values.session)
  set('messageId', values['message-id'])
  set('status', splitList(values.status))
  set('from', normaliseTime(values.from))
  set('to', normaliseTime(values.to))
  set('where', values.where?.map(parseWherePredicate))
  set(
    'limit',
    extra.limit !== undefined && /^-?\d{1,9}$/.test(extra.limit) ? Number(extra.limit) : extra.limit,
  )
  set('cursor', extra.cursor)
  set('order', extra.order)
  if (!validateQuery(query)) throw flagError(validateQuery, query)
  if (
    query.from !== undefined &&
    query.to !== undefined &&
    Date.parse(String(query.to)) <= Date.parse(String(query.from))
  ) {
    throw new AppError('usage', '--to must be after --from')
  }
  return query as EventQuery
}

/** A one-line usage error from the first Ajv error, naming the flag (`--where #2: path …`). */
export function flagError(
  validate: ValidateFunction,
  input: Record<string, unknown>,
  flagOf: Record<string, string> = FLAG_OF,
): AppError {
  const errors = validate.errors ?? []
  const first = pickError(errors)
  const [, field, index, ...rest] = first.instancePath.split('/')
  const extraKey = (first.params as { additionalProperty?: string }).additionalProperty
  const flag = flagOf[field ?? ''] ?? flagOf[extraKey ?? ''] ?? (field || extraKey || 'input')
  let where = flag
  if (index !== undefined && field === 'where')
    where = `${flag} #${Number(index) + 1}:${rest.length && rest[0] !== 'path' ? ` ${rest.join('.')}` : ''}`
  const value = field === undefined ? undefined : valueAt(input, first.instancePath)
  const shown = value === undefined || typeof value === 'object' ? '' : ` (got ${JSON.stringify(value)})`
  return new AppError('usage', `${where} ${describe(first)}${shown}`, { details: errors })
}

function valueAt(input: unknown, pointer: string): unknown {
  let v: unknown = input
  for (const key of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<string, unknown>)[key]
  }
  return v
}

/** The most telling error: a specific one (maxItems, pattern…), else the union's summary over its branches. */
function pickError(errors: ErrorObject[]): ErrorObject {
  const summary = new Set(['anyOf', 'const', 'type'])
  return errors.find((e) => !summary.has(e.keyword)) ?? errors.find((e) => e.keyword === 'anyOf') ?? errors[0]
}

function describe(e: ErrorObject): string {
  if (e.keyword === 'anyOf' && Array.isArray(e.schema)) {
    const allowed = (e.schema as TSchema[]).map((s) => s.const).filter((c) => c !== undefined)
    if (allowed.length > 0) return `must be one of ${allowed.join(', ')}`
  }
  if (e.keyword === 'format')
    return `must be a ${String((e.params as { format?: string }).format)} (e.g. 2026-11-01T00:00:00Z)`
  if (e.keyword === 'pattern' && e.instancePath.endsWith('/path'))
    return 'path must be properties.x, context.x or traits.x (keys: letters, digits, _ $ -)'
  return e.message ?? 'is invalid'
}
