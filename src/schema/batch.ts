import { type Static, Type } from '@sinclair/typebox'
import { ValidationIssueSchema } from './validation-issue.js'

/**
 * Per-event outcomes of an ingest call: stored, already stored (same `messageId`), rejected (kept in the
 * failed-event store with its errors), or dropped: by a project rule (bot traffic with `dropBots`; counted), or
 * because its person was erased (GDPR) while it waited for its commit.
 */
export const INGEST_STATUSES = ['accepted', 'duplicate', 'rejected', 'dropped'] as const
export type IngestStatus = (typeof INGEST_STATUSES)[number]

/**
 * `BatchRequest`: events as sent. Items are `unknown` on purpose: each is validated on its own so one bad
 * event never fails the batch.
 */
export const BatchRequestSchema = Type.Object(
  {
    events: Type.Array(Type.Unknown(), { description: 'Events (EventCreate), validated one by one.' }),
    sentAt: Type.Optional(Type.String({ description: 'Batch-level sentAt, applied to events without one.' })),
  },
  { $id: 'tally/BatchRequest' },
)
export type BatchRequest = Static<typeof BatchRequestSchema>

/** The outcome for the event at `index` of the request. */
export const EventResultSchema = Type.Object(
  {
    index: Type.Integer({ minimum: 0 }),
    status: Type.Union(INGEST_STATUSES.map((s) => Type.Literal(s))),
    id: Type.Optional(Type.String({ description: 'Stored event id (accepted) or existing id (duplicate).' })),
    errors: Type.Optional(Type.Array(ValidationIssueSchema)),
  },
  { $id: 'tally/EventResult', additionalProperties: false },
)
export type EventResult = Static<typeof EventResultSchema>

/** `BatchResult`: totals and one result per event, in request order. */
export const BatchResultSchema = Type.Object(
  {
    accepted: Type.Integer({ minimum: 0 }),
    duplicates: Type.Integer({ minimum: 0 }),
    rejected: Type.Integer({ minimum: 0 }),
    dropped: Type.Integer({
      minimum: 0,
      description:
        'Not stored: dropped by a project rule (bots with dropBots), or its person erased (GDPR) while it waited for its commit.',
    }),
    results: Type.Array(EventResultSchema),
  },
  { $id: 'tally/BatchResult', additionalProperties: false },
)
export type BatchResult = Static<typeof BatchResultSchema>
