import { JetStreamApiError, type JetStreamClient, jetstream } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { AppError, isAppError } from '../errors/app-error.js'
import type { AnalyticsEvent } from '../schema/analytics-event.js'
import type { InsertOutcome, NewFailedEvent } from '../store/event-store.js'
import { openQueue } from './jetstream-setup.js'
import { type QueueSettings, queueSubjects } from './queue-settings.js'

/** What `EventService` writes through: `EventStore.insertBatch`'s signature. */
export type EventSink = (
  events: readonly AnalyticsEvent[],
  failed: readonly NewFailedEvent[],
) => Promise<InsertOutcome[]>

/**
 * The JetStream message id of an event: its `messageId`, scoped by project (the store dedupes by
 * `(projectId, messageId)`, so two projects may use the same key).
 */
export function eventMsgId(event: Pick<AnalyticsEvent, 'projectId' | 'messageId'>): string {
  return `${event.projectId}:${event.messageId}`
}

const encoder = new TextEncoder()

/**
 * An `EventSink` that publishes instead of writing: each accepted event to `<prefix>.events` with
 * `msgID = projectId:messageId` (the stream drops a republish inside its duplicate window), each failed
 * event to `<prefix>.failed`, and resolves only after JetStream acknowledged every one of them — so a 2xx
 * from an ingest node means "replicated in the stream". An ack with `duplicate: true` is a duplicate
 * outcome (its id is this attempt's id; the stored row has the first attempt's id).
 *
 * Failures become AppError: a full stream (`discard: new` limits) → `overloaded`; no ack in time, no
 * JetStream leader or no connection → `store_unavailable`; both with `retryAfterSeconds`. Some events of
 * a failed call may be in the stream already; the client's retry with the same messageIds is deduplicated.
 */
export function createJetStreamSink(js: JetStreamClient, settings: QueueSettings): EventSink {
  const subjects = queueSubjects(settings)
  const timeout = settings.publishTimeoutMs
  return async function publishToJetStream(events, failed) {
    const acks = new Array<Promise<{ duplicate: boolean }>>(events.length + failed.length)
    for (let i = 0; i < events.length; i++) {
      const e = events[i]
      acks[i] = js.publish(subjects.events, encoder.encode(JSON.stringify(e)), {
        msgID: eventMsgId(e),
        timeout,
      })
    }
    for (let i = 0; i < failed.length; i++) {
      const f = failed[i]
      acks[events.length + i] = js.publish(subjects.failed, encoder.encode(JSON.stringify(f)), {
        msgID: `failed:${f.id}`,
        timeout,
      })
    }
    const settled = await Promise.allSettled(acks)
    const outcomes = new Array<InsertOutcome>(events.length)
    let firstError: unknown
    for (let i = 0; i < settled.length; i++) {
      const s = settled[i]
      if (s.status === 'rejected') {
        firstError ??= s.reason
        continue
      }
      if (i < events.length)
        outcomes[i] = { status: s.value.duplicate ? 'duplicate' : 'accepted', id: events[i].id }
    }
    if (firstError !== undefined) throw toQueueError(firstError, settings.retryAfterSeconds)
    return outcomes
  }
}

/** Maps a publish failure to the AppError ingest answers with. */
export function toQueueError(err: unknown, retryAfterSeconds: number): AppError {
  if (isAppError(err)) return err
  const message = (err as Error)?.message ?? String(err)
  if (err instanceof JetStreamApiError && /maximum (messages|bytes)|resource limits|storage/i.test(message)) {
    return new AppError('overloaded', 'The event stream is full; retry after the indicated delay', {
      cause: err,
      retryAfterSeconds,
    })
  }
  return new AppError(
    'store_unavailable',
    'The event stream did not acknowledge in time; retry after the indicated delay',
    {
      cause: err,
      retryAfterSeconds,
    },
  )
}

/** An ingest node's connection to the queue: the sink EventService writes through, and `close()`. */
export interface QueuePublisher {
  readonly sink: EventSink
  readonly connection: NatsConnection
  /** False while the client is disconnected from every NATS server (reconnecting) or closed. */
  isConnected(): boolean
  /** Flushes and closes the connection (after the EventService drained). */
  close(): Promise<void>
  /** What to log at start (e.g. the stream has fewer replicas than asked for). */
  notices: string[]
}

/** Connects, makes sure the stream exists, and returns the publishing sink. */
export async function openQueuePublisher(
  settings: QueueSettings,
  name = 'tally-ingest',
): Promise<QueuePublisher> {
  const opened = await openQueue(settings, name)
  const nc = opened.nc
  const js = jetstream(nc, { timeout: settings.publishTimeoutMs })
  let connected = true
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') connected = false
      else if (s.type === 'reconnect') connected = true
    }
  })().catch(() => {})
  return {
    sink: createJetStreamSink(js, opened.settings), // the subjects the stream really uses
    connection: nc,
    isConnected: () => connected && !nc.isClosed(),
    notices: opened.notices,
    async close() {
      await nc.drain().catch(() => nc.close())
    },
  }
}
