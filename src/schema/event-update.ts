import { type Static, Type } from '@sinclair/typebox'
import { EVENT_STATUSES } from './event-types.js'

/**
 * `EventUpdate`: the only changes allowed after ingest — processing bookkeeping. The payload is immutable.
 *
 * @example
 * { "status": "failed", "error": "warehouse timeout", "attempts": 3 }
 */
export const EventUpdateSchema = Type.Object(
  {
    status: Type.Optional(Type.Union(EVENT_STATUSES.map((s) => Type.Literal(s)))),
    error: Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()])),
    attempts: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    tags: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 32, uniqueItems: true }),
    ),
  },
  { $id: 'tally/EventUpdate', additionalProperties: false, minProperties: 1 },
)
export type EventUpdate = Static<typeof EventUpdateSchema>
