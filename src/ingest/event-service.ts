import type { EventFormatter } from '../enrich/event-formatter.js'
import { ipAsStored } from '../enrich/ip.js'
import type { FormatResult } from '../enrich/types.js'
import { AppError } from '../errors/app-error.js'
import type { AnalyticsEvent } from '../schema/analytics-event.js'
import type { BatchResult, EventResult } from '../schema/batch.js'
import type { ValidationIssue } from '../schema/validation-issue.js'
import type { EventStore, InsertOutcome, NewFailedEvent } from '../store/event-store.js'
import type { EventValidator } from '../validate/event-validator.js'
import { storableIssues } from '../validate/storable-text.js'
import {
  failedEventId,
  keepablePayload,
  oversizedPayloadStub,
  PAYLOAD_ALTERED,
  withStoredIp,
} from './failed-payload.js'
import { GroupCommitQueue } from './group-commit.js'
import type { IngestContext, Ingestor } from './ingest-types.js'
import type { ProjectRuntimeCache } from './project-runtime.js'

/** One request's prepared writes: the events that passed and the ones kept as failed. */
interface WriteUnit {
  events: AnalyticsEvent[]
  failed: NewFailedEvent[]
  /** The request's body size, for the queue's byte bound (0 when unknown). */
  bytes: number
}

export interface EventServiceOptions {
  store: EventStore
  validator: EventValidator
  formatter: EventFormatter
  projects: ProjectRuntimeCache
  /** Largest group commit, in events. Default 1,000 (MEASUREMENTS: commits of ~1,000 rows). */
  maxGroupEvents?: number
  /** Extra wait for others to share a commit when the store is idle. Default 0 (see GroupCommitQueue). */
  maxWaitMs?: number
  /** Events waiting to be written before ingest answers `overloaded`. Default 50,000. */
  maxQueuedEvents?: number
  /** Bytes of request bodies (IngestContext.bytes) waiting before ingest answers `overloaded`. Default 64 MB. */
  maxQueuedBytes?: number
  /** Concurrent write transactions (1 for SQLite's single writer). Default 1. */
  writeConcurrency?: number
  /**
   * With a group commit in flight, start another only when this many events wait. Default half of
   * `maxGroupEvents`, so concurrency serves bulk load and small requests still share one transaction.
   */
  minConcurrentGroupEvents?: number
  /**
   * Where group commits go instead of `store.insertBatch` (same signature), e.g. a JetStream publisher on
   * an ingest node (src/queue). Default: the store.
   */
  sink?: (events: readonly AnalyticsEvent[], failed: readonly NewFailedEvent[]) => Promise<InsertOutcome[]>
  /** Called once per ingest call with its outcome counts (metrics). */
  onIngested?: (result: BatchResult, projectId: string) => void
  /** Called when a group commit fails (logging). */
  onWriteError?: (err: unknown) => void
}

/**
 * The ingest stage: validate → format → store, answered per event.
 *
 * Validation and formatting run synchronously on the caller's turn (they are pure and fast); the writes of
 * concurrent callers are coalesced by a `GroupCommitQueue` into one transaction, and each caller is answered
 * only after the transaction holding its events committed — so "accepted" always means durable.
 */
export class EventService implements Ingestor {
  readonly #store: EventStore
  readonly #sink?: EventServiceOptions['sink']
  readonly #validator: EventValidator
  readonly #formatter: EventFormatter
  readonly #projects: ProjectRuntimeCache
  readonly #queue: GroupCommitQueue<WriteUnit, InsertOutcome[] | AppError>
  readonly #onIngested?: (result: BatchResult, projectId: string) => void
  readonly #onWriteError?: (err: unknown) => void

  constructor(options: EventServiceOptions) {
    this.#store = options.store
    this.#sink = options.sink
    this.#validator = options.validator
    this.#formatter = options.formatter
    this.#projects = options.projects
    this.#onIngested = options.onIngested
    this.#onWriteError = options.onWriteError
    this.#queue = new GroupCommitQueue<WriteUnit, InsertOutcome[] | AppError>({
      sizeOf: (u) => u.events.length + u.failed.length,
      maxGroupItems: options.maxGroupEvents ?? 1000,
      maxWaitMs: options.maxWaitMs ?? 0,
      maxQueuedItems: options.maxQueuedEvents ?? 50_000,
      bytesOf: (u) => u.bytes,
      maxQueuedBytes: options.maxQueuedBytes ?? 64 * 1024 * 1024,
      concurrency: options.writeConcurrency ?? 1,
      minConcurrentItems:
        options.minConcurrentGroupEvents ?? Math.floor((options.maxGroupEvents ?? 1000) / 2),
      write: (units) => this.#writeUnits(units),
      mapError: (err) => {
        options.onWriteError?.(err)
        return asWriteError(err)
      },
      failsQueued: isUnavailable,
    })
  }

  /** Events waiting for a group commit (a gauge for /metrics). */
  get queueDepth(): number {
    return this.#queue.depth
  }

  async ingest(events: readonly unknown[], ctx: IngestContext): Promise<BatchResult> {
    const { project, plan } = await this.#projects.get(ctx.projectId)
    const settings = project.settings
    const receivedAt = ctx.receivedAt ?? new Date()
    const receivedAtIso = receivedAt.toISOString()
    const results = new Array<EventResult>(events.length)
    const unit: WriteUnit = { events: [], failed: [], bytes: ctx.bytes ?? 0 }
    const acceptedIndexes: number[] = []
    let rejected = 0
    let dropped = 0

    // What a replay needs of the request to format the event as this ingest would have: the IP kept as the
    // event store keeps it (never raw unless the project stores raw IPs) and the User-Agent header.
    let keptClient: { clientIp: string | null; userAgent: string | null } | undefined
    const reject = (index: number, payload: unknown, errors: EventResult['errors'] & object) => {
      keptClient ??= {
        clientIp: ctx.clientIp === undefined ? null : ipAsStored(ctx.clientIp, settings.storeRawIp),
        userAgent: ctx.userAgent ?? null,
      }
      // The notes of what the route repaired belong with the refusal too: the kept payload is the repaired
      // event, and without them the record would not say what was dropped or converted.
      const storable = storableIssues([...errors, ...(ctx.notes?.[index] ?? [])])
      const withIp = withStoredIp(payload, settings.storeRawIp)
      const oversized = errors.some(isOversized)
      const kept = oversized ? oversizedPayloadStub(withIp) : keepablePayload(withIp)
      unit.failed.push({
        id: failedEventId(ctx.projectId, payload),
        projectId: ctx.projectId,
        receivedAt: receivedAtIso,
        payload: kept,
        errors: kept === withIp ? storable : [...storable, PAYLOAD_ALTERED],
        ...keptClient,
      })
      results[index] = { index, status: 'rejected', errors: storable }
      rejected++
    }

    for (let i = 0; i < events.length; i++) {
      const raw = withBatchSentAt(events[i], ctx.sentAt)
      const checked = this.#validator.validate(raw, {
        trackingPlan: plan,
        enforcement: settings.enforcement,
        nameCase: settings.nameCase,
      })
      if (!checked.ok) {
        reject(i, raw, checked.errors)
        continue
      }
      const formatted: FormatResult = this.#formatter.format(checked.event, {
        projectId: ctx.projectId,
        receivedAt,
        clientIp: ctx.clientIp,
        userAgent: ctx.userAgent,
        settings,
        schema: checked.schema,
        warnings: withNotes(ctx.notes?.[i], checked.warnings),
        historical: ctx.historical,
      })
      if (formatted.kind === 'ok') {
        unit.events.push(formatted.event)
        acceptedIndexes.push(i)
      } else if (formatted.kind === 'reject') {
        reject(i, raw, formatted.errors)
      } else {
        results[i] = { index: i, status: 'dropped' }
        dropped++
      }
    }

    if (ctx.refuseOversized === true) {
      // Measured as the validator measured it: after the route's mapping, with the batch's sentAt.
      const index = results.findIndex((r) => r?.status === 'rejected' && r.errors?.some(isOversized))
      if (index >= 0) {
        const issue = results[index].errors!.find(isOversized)!
        throw new AppError(
          'payload_too_large',
          `Message ${index} is too large (${issue.message}); a message may hold at most 32 KB, as in Segment's API`,
          { details: [{ index, ...issue }], statusCode: 400 },
        )
      }
    }

    let accepted = 0
    let duplicates = 0
    if (unit.events.length + unit.failed.length > 0) {
      const committed = this.#queue.submit(unit)
      ctx.onQueued?.()
      const outcomes = await committed
      if (outcomes instanceof AppError) throw outcomes
      for (let k = 0; k < acceptedIndexes.length; k++) {
        const index = acceptedIndexes[k]
        const outcome = outcomes[k]
        if (outcome.status === 'dropped') {
          results[index] = { index, status: 'dropped' }
          dropped++
          continue
        }
        results[index] = { index, status: outcome.status, id: outcome.id }
        if (outcome.status === 'accepted') accepted++
        else duplicates++
      }
    }
    const result: BatchResult = { accepted, duplicates, rejected, dropped, results }
    this.#onIngested?.(result, ctx.projectId)
    return result
  }

  /** Resolves when every event accepted so far is committed. */
  drain(): Promise<void> {
    return this.#queue.drain()
  }

  /** Stops accepting (ingest then answers `overloaded`) and writes what is queued. */
  close(): Promise<void> {
    return this.#queue.close()
  }

  /**
   * One transaction for the group. If the database refused it for a reason of its own (not that it is
   * unreachable or busy), each request is written alone, so that one request the database refuses fails
   * only its own sender: a single event PostgreSQL could not index answered 500 to every client whose
   * events shared its group commit. A refused transaction wrote nothing, so writing again is safe.
   */
  async #writeUnits(units: WriteUnit[]): Promise<(InsertOutcome[] | AppError)[]> {
    try {
      return await this.#writeTogether(units)
    } catch (err) {
      if (units.length === 1 || isUnavailable(err)) throw err
      this.#onWriteError?.(err)
      const perUnit: (InsertOutcome[] | AppError)[] = []
      for (const unit of units) {
        try {
          perUnit.push((await this.#writeTogether([unit]))[0] as InsertOutcome[])
        } catch (alone) {
          this.#onWriteError?.(alone)
          perUnit.push(asWriteError(alone))
        }
      }
      return perUnit
    }
  }

  async #writeTogether(units: WriteUnit[]): Promise<InsertOutcome[][]> {
    const events = units.flatMap((u) => u.events)
    const failed = units.flatMap((u) => u.failed)
    const outcomes = await (this.#sink ? this.#sink(events, failed) : this.#store.insertBatch(events, failed))
    const perUnit: InsertOutcome[][] = []
    let offset = 0
    for (const u of units) {
      perUnit.push(outcomes.slice(offset, offset + u.events.length))
      offset += u.events.length
    }
    return perUnit
  }
}

/** The validator's finding for an event over the per-event size limit. */
const isOversized = (e: { code: string; path: string }) => e.code === 'too_large' && e.path === ''

/** What a caller whose write failed receives: the store's AppError, else store_unavailable. */
function asWriteError(err: unknown): AppError {
  if (err instanceof AppError) return err
  return new AppError('store_unavailable', undefined, { cause: err, retryAfterSeconds: 2 })
}

/**
 * The database cannot be written now (down, busy, the queue full): writing alone would fail the same way,
 * and so would the groups queued behind. Not a privilege missing on one table (PostgreSQL 42501): that
 * refuses only the requests that write there (a failed event), so the group is written request by request.
 */
function isUnavailable(err: unknown): boolean {
  // A write cancelled at the statement timeout (query_timeout) waited out a lock: so would the others.
  const codes = ['store_unavailable', 'overloaded', 'query_timeout']
  if (!(err instanceof AppError) || !codes.includes(err.code)) return false
  return (err.cause as { code?: unknown } | undefined)?.code !== '42501'
}

/** The route's repair notes for an event ahead of the validator's warnings. */
function withNotes(
  notes: readonly ValidationIssue[] | undefined,
  warnings: ValidationIssue[],
): ValidationIssue[] {
  // Notes name keys the route dropped unvalidated: made storable like a refused event's issues.
  return notes === undefined || notes.length === 0 ? warnings : [...storableIssues([...notes]), ...warnings]
}

/** Segment sends `sentAt` once per batch; an event without its own takes the batch's. */
function withBatchSentAt(raw: unknown, sentAt: string | undefined): unknown {
  if (sentAt === undefined || typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw
  if ((raw as { sentAt?: unknown }).sentAt !== undefined) return raw
  // Spread defines own properties (it never invokes a `__proto__` setter), so hostile keys stay inert.
  return { ...(raw as object), sentAt }
}
