import type { EventCreate } from '../../shared/event-types.js'

/**
 * Event shapes: sdk/shared/event-types.ts, kept equal to the server's own types by a type test
 * (sdk/node/test/event-types.test.ts), so the package needs nothing of the server.
 */
export type {
  ApiRequestEvent,
  EventContext,
  EventCreate,
  HttpMethod,
  Identifier,
} from '../../shared/event-types.js'

/** The event of one `type`, e.g. `EventOf<'api_request'>`. */
export type EventOf<T extends EventCreate['type']> = Extract<EventCreate, { type: T }>

/** An event as a caller hands it to the SDK: `type` is set by the method; messageId and timestamp are filled in. */
export type Message<T extends EventCreate['type']> = Omit<EventOf<T>, 'type'>

/** Stable codes of the problems the SDK reports through `onError` (a tracking call never throws). */
export const SDK_ERROR_CODES = [
  'missing_identity',
  'invalid_event',
  'queue_full',
  'closed',
  'batch_refused',
  'events_rejected',
  'delivery_failed',
  'identify_failed',
] as const
export type SdkErrorCode = (typeof SDK_ERROR_CODES)[number]

/**
 * A problem the SDK met while queueing or delivering. `events` are the events concerned (dropped);
 * `status` is the HTTP status when the server answered, `body` its answer.
 */
export class TallySdkError extends Error {
  override readonly name = 'TallySdkError'
  constructor(
    readonly code: SdkErrorCode,
    message: string,
    readonly details: { status?: number; events?: readonly EventCreate[]; body?: unknown } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
