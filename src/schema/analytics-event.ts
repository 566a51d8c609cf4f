import { type Static, Type } from '@sinclair/typebox'
import { EventContextSchema } from './context.js'
import { EVENT_STATUSES, EVENT_TYPES } from './event-types.js'
import { JsonObject } from './primitives.js'
import { ValidationIssueSchema } from './validation-issue.js'

const Nullable = <T extends ReturnType<typeof Type.String>>(s: T) => Type.Union([s, Type.Null()])
const DateTime = (description: string) => Type.String({ format: 'date-time', description })

/**
 * `AnalyticsEvent`: an event as Tally stores and returns it — the client's fields after validation and
 * enrichment, plus what the server assigned. The payload is immutable after ingest; only the processing
 * fields (`status`, `error`, `attempts`, `tags`) change, through `EventUpdate`.
 *
 * Identifiers are always strings here (numeric ids a client sent are stored as their decimal string).
 */
export const AnalyticsEventSchema = Type.Object(
  {
    id: Type.String({ description: 'UUIDv7 assigned by the server; time-sortable, the pagination key.' }),
    projectId: Type.String({ description: 'Project the event belongs to.' }),
    type: Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))),
    name: Nullable(Type.String({ description: 'Event name, metric, action or "METHOD route".' })),
    messageId: Type.String({
      description: "Client's idempotency key (generated when the client sent none).",
    }),
    userId: Nullable(Type.String()),
    anonymousId: Nullable(Type.String()),
    sessionId: Nullable(Type.String()),
    groupId: Nullable(Type.String()),
    previousId: Nullable(Type.String()),
    timestamp: DateTime('When it happened, corrected for client clock skew.'),
    originalTimestamp: Nullable(DateTime('The client timestamp as sent, before skew correction.')),
    sentAt: Nullable(DateTime('When the client sent it, client clock.')),
    receivedAt: DateTime('When the server received it.'),
    properties: JsonObject('Event properties, after redaction.'),
    traits: Type.Union([JsonObject('Traits (identify/group).'), Type.Null()]),
    context: EventContextSchema,
    status: Type.Union(EVENT_STATUSES.map((s) => Type.Literal(s))),
    error: Nullable(Type.String({ description: 'Last processing error set by a consumer.' })),
    attempts: Type.Integer({ minimum: 0, description: 'Processing attempts recorded by consumers.' }),
    tags: Type.Array(Type.String(), { description: 'Labels set by consumers.' }),
    schema: Type.Union([
      Type.Object(
        { name: Type.String(), version: Type.String() },
        { description: 'The tracking-plan schema and version that validated it.' },
      ),
      Type.Null(),
    ]),
    violations: Type.Array(ValidationIssueSchema, {
      description: 'Warnings recorded in `warn` mode or by enrichment (e.g. a timestamp from the future).',
    }),
  },
  { $id: 'tally/AnalyticsEvent', additionalProperties: false },
)
export type AnalyticsEvent = Static<typeof AnalyticsEventSchema>
