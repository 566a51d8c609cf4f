import { type Static, Type } from '@sinclair/typebox'
import { ValidationIssueSchema } from './validation-issue.js'

export const REPLAY_STATES = ['pending', 'replaying', 'replayed', 'failed_again'] as const
export type ReplayState = (typeof REPLAY_STATES)[number]

/**
 * `FailedEvent`: an event that was rejected, kept with its raw payload and the errors, so it can be
 * inspected and replayed after the tracking plan (or the client) is fixed. Never silently dropped.
 */
export const FailedEventSchema = Type.Object(
  {
    id: Type.String({
      description:
        'UUIDv7; for an event kept by `tally import`, a UUID derived from the project and the payload, so a re-import keeps it once.',
    }),
    projectId: Type.String(),
    receivedAt: Type.String({ format: 'date-time' }),
    payload: Type.Unknown({ description: 'The event exactly as received (after JSON decoding).' }),
    errors: Type.Array(ValidationIssueSchema),
    replayState: Type.Union(
      REPLAY_STATES.map((s) => Type.Literal(s)),
      {
        description:
          '`pending` (not replayed yet), `replaying` (a replay holds it, for at most 5 minutes), `failed_again` (a replay found it still failing; `errors` are the new ones). A failed event that a replay stores leaves this list (the stored event keeps its messageId), so `replayed` is not seen here.',
      },
    ),
    replayAttempts: Type.Integer({ minimum: 0 }),
    lastReplayAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    replayedEventId: Type.Union([Type.String(), Type.Null()], {
      description:
        'Always null: a failed event that replays is removed from this list. Find the stored event by its messageId (`GET /api/v1/events?messageId=…`; a failed event without one was replayed as `replay-<failed event id>`).',
    }),
    clientIp: Type.Union([Type.String(), Type.Null()], {
      description:
        "The sending request's client IP, as events keep it (anonymised unless the project stores raw IPs); a replay formats the event with it. Null when unknown (`tally import`, failed events kept before migration 0008).",
    }),
    userAgent: Type.Union([Type.String(), Type.Null()], {
      description: "The sending request's User-Agent header; a replay formats the event with it.",
    }),
  },
  { $id: 'tally/FailedEvent', additionalProperties: false },
)
export type FailedEvent = Static<typeof FailedEventSchema>
