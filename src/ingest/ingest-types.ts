import type { BatchResult } from '../schema/batch.js'
import type { ValidationIssue } from '../schema/validation-issue.js'

/** What the transport knows about where a batch came from. */
export interface IngestContext {
  projectId: string
  /** Client IP as resolved through the trusted proxies (Fastify's request.ip). */
  clientIp?: string
  /** The request's User-Agent header; used when an event carries no context.userAgent. */
  userAgent?: string
  /** Batch-level sentAt (Segment's `sentAt` next to `batch`), applied to events without their own. */
  sentAt?: string
  /** Server receive time. Defaults to now. */
  receivedAt?: Date
  /**
   * Per event (same index), what the route changed before validation (the Segment routes' leniency):
   * stored with an accepted event as violations, so a repair is never silent.
   */
  notes?: readonly (readonly ValidationIssue[] | undefined)[]
  /**
   * Called once the batch is validated and formatted and its rows are queued for their commit, before the
   * wait for it: the transport's cue that the request now costs only the memory of its rows.
   */
  onQueued?: () => void
  /** The request body's decoded size: what its events are counted as in the write queue's byte bound. */
  bytes?: number
  /**
   * A deliberate import of past events (Segment's `/v1/import`): no event is too old. Without it, `block`
   * mode refused every event over 30 days old, and no replay could take it (a replay judges by the time
   * the event was first received).
   */
  historical?: boolean
  /**
   * Refuse the whole request (AppError payload_too_large, status 400) when an event is over the per-event
   * size limit, before anything is stored: Segment's API does, and its SDKs count a 200 as delivered while
   * such an event could only be kept as a stub (its ids, not its payload).
   */
  refuseOversized?: boolean
}

/**
 * The ingest stage: validate → format → store, for one batch, answered only after the batch's events are
 * committed. Implemented by `EventService` (group commit over an `EventStore`).
 */
export interface Ingestor {
  /**
   * Validates, enriches and stores `events` (as sent, unvalidated). Per-event problems are per-event
   * results, never a thrown error. Throws AppError('overloaded') when the write queue is full and
   * AppError('store_unavailable') when the database cannot be written — both carry retryAfterSeconds.
   */
  ingest(events: readonly unknown[], ctx: IngestContext): Promise<BatchResult>
}
