import { type Static, Type } from '@sinclair/typebox'
import { EVENT_STATUSES, EVENT_TYPES } from './event-types.js'

/** Operators of a property predicate. */
export const PREDICATE_OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'contains', 'exists'] as const
export type PredicateOp = (typeof PREDICATE_OPS)[number]

/** Largest page a query returns. */
export const MAX_QUERY_LIMIT = 1000
export const DEFAULT_QUERY_LIMIT = 100

/**
 * A filter on a value inside `properties` or `context`, addressed by a dotted path of plain keys
 * (`properties.plan`, `context.page.path`). Paths are validated against a strict pattern before any SQL is
 * built, so they can never inject.
 *
 * @example
 * { "path": "properties.durationMs", "op": "gte", "value": 500 }
 */
export const PropertyPredicateSchema = Type.Object(
  {
    path: Type.String({
      pattern: '^(properties|context|traits)(\\.[A-Za-z0-9_$-]{1,64}){1,8}$',
      maxLength: 600,
      description: 'properties.x.y, context.x.y or traits.x (keys: letters, digits, _ $ -).',
    }),
    op: Type.Union(PREDICATE_OPS.map((o) => Type.Literal(o))),
    value: Type.Optional(
      Type.Union([
        Type.String({ maxLength: 1024 }),
        Type.Number(),
        Type.Boolean(),
        Type.Null(),
        Type.Array(Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()]), {
          maxItems: 100,
        }),
      ]),
    ),
  },
  { additionalProperties: false },
)
export type PropertyPredicate = Static<typeof PropertyPredicateSchema>

/**
 * `EventQuery`: what to read. All filters are AND-ed; list filters match any of their values.
 * Results are ordered by `id` (UUIDv7, i.e. receive time); `cursor` continues a previous page.
 *
 * @example
 * { "types": ["api_request"], "from": "2026-11-01T00:00:00Z", "where": [{ "path": "properties.statusCode", "op": "gte", "value": 500 }], "limit": 100 }
 */
export const EventQuerySchema = Type.Object(
  {
    types: Type.Optional(Type.Array(Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))), { maxItems: 16 })),
    names: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 100 })),
    userId: Type.Optional(Type.String({ maxLength: 255 })),
    anonymousId: Type.Optional(Type.String({ maxLength: 255 })),
    sessionId: Type.Optional(Type.String({ maxLength: 255 })),
    messageId: Type.Optional(
      Type.String({
        maxLength: 255,
        description: 'The client\'s idempotency key: the one event stored for it ("did my event arrive?").',
      }),
    ),
    status: Type.Optional(
      Type.Array(Type.Union(EVENT_STATUSES.map((s) => Type.Literal(s))), { maxItems: 4 }),
    ),
    from: Type.Optional(
      Type.String({ format: 'date-time', description: 'Inclusive lower bound on timestamp.' }),
    ),
    to: Type.Optional(
      Type.String({ format: 'date-time', description: 'Exclusive upper bound on timestamp.' }),
    ),
    where: Type.Optional(Type.Array(PropertyPredicateSchema, { maxItems: 20 })),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'desc' })),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_QUERY_LIMIT, default: DEFAULT_QUERY_LIMIT }),
    ),
    cursor: Type.Optional(
      Type.String({ maxLength: 512, description: 'Opaque; from a previous nextCursor.' }),
    ),
  },
  { $id: 'tally/EventQuery', additionalProperties: false },
)
export type EventQuery = Static<typeof EventQuerySchema>
