import type { AnalyticsEvent } from '../schema/analytics-event.js'
import type { EventQuery } from '../schema/event-query.js'
import type { EventStatus } from '../schema/event-types.js'
import type { EventUpdate } from '../schema/event-update.js'
import type { FailedEvent } from '../schema/failed-event.js'
import type { ValidationIssue } from '../schema/validation-issue.js'
import type { ApiKeyRecord, ApiKeyRole, Project, ProjectSettings } from './project-types.js'
import type { StoredSchema } from './schema-types.js'

/**
 * The contract between Tally's pipeline and a database. One implementation per dialect (SQLite,
 * PostgreSQL), both written with Kysely and both held to `test/helpers/store-conformance.ts`.
 *
 * Every method is scoped by `projectId`: no call can read or change another project's rows.
 * Every write is transactional: a method either did all of its work or none of it.
 */
export interface EventStore {
  /** `sqlite` or `postgres`. */
  readonly dialect: StoreDialectName

  /** Applies pending migrations (idempotent). Returns the names applied in this call. */
  migrate(): Promise<string[]>
  /** Resolves when the database answers and all migrations are applied; rejects otherwise. */
  ping(): Promise<void>
  /** Closes connections. Safe to call twice. */
  close(): Promise<void>

  // ── ingest ───────────────────────────────────────────────────────────────────────────────────────
  /**
   * Writes one group commit in ONE transaction: every event whose `(projectId, messageId)` is new is
   * inserted (and the rollups updated); the others are reported `duplicate` with the id already stored;
   * every failed event is kept. Outcomes are returned in the order of `events`. Duplicates inside the
   * same call are detected too (the first wins).
   */
  insertBatch(events: readonly AnalyticsEvent[], failed: readonly NewFailedEvent[]): Promise<InsertOutcome[]>

  // ── events ───────────────────────────────────────────────────────────────────────────────────────
  getEvent(projectId: string, id: string): Promise<AnalyticsEvent | undefined>
  /** Changes processing fields only. Returns the updated event, or undefined if there is none. */
  updateEvent(projectId: string, id: string, update: EventUpdate): Promise<AnalyticsEvent | undefined>
  /** Same update on many ids; returns how many rows changed. */
  updateEvents(projectId: string, ids: readonly string[], update: EventUpdate): Promise<number>
  deleteEvent(projectId: string, id: string): Promise<boolean>
  /**
   * GDPR erasure: deletes every event (and every failed event whose payload carries the id) of a user.
   * At least one of `userId`/`anonymousId` must be given.
   */
  deleteWhere(projectId: string, filter: DeleteFilter): Promise<{ events: number; failedEvents: number }>
  /** Retention: deletes events (and failed events) received before `cutoff`. All projects when omitted. */
  purgeOlderThan(cutoff: Date, projectId?: string): Promise<{ events: number; failedEvents: number }>
  /** Keyset-paginated read. `nextCursor` is null on the last page. Throws AppError('invalid_cursor'). */
  queryEvents(projectId: string, query: EventQuery): Promise<EventPage>
  /** Every event matching `query` (limit and cursor ignored), streamed in pages, for export. */
  exportEvents(projectId: string, query: EventQuery): AsyncIterable<AnalyticsEvent>

  /** The ids of the events the project stored under these client messageIds, by messageId. */
  storedEventIds(projectId: string, messageIds: readonly string[]): Promise<Map<string, string>>

  // ── failed events ────────────────────────────────────────────────────────────────────────────────
  listFailedEvents(projectId: string, query: FailedEventQuery): Promise<FailedEventPage>
  /** Records replay attempts that failed again (new errors), in one transaction. */
  markFailedEventsStillFailing(
    projectId: string,
    /** `receivedAt`: of the version judged; one replaced since by a re-send is left alone. */
    items: readonly { id: string; errors: ValidationIssue[]; receivedAt: string }[],
  ): Promise<void>
  /**
   * Removes failed events that were replayed, in one transaction; returns the ids that were still there. A
   * claimed one that was not was removed by a GDPR erasure while the replay ran: the caller must not keep
   * the event it stored from it.
   */
  markFailedEventsReplayed(projectId: string, ids: readonly string[]): Promise<Set<string>>
  /**
   * Claims failed events for one replay (state `replaying` for `leaseMs`); returns the ids it got. Ids held
   * by another replay whose lease still runs are left out: that replay stores them.
   */
  claimFailedEventsForReplay(projectId: string, ids: readonly string[], leaseMs: number): Promise<Set<string>>

  // ── processing (claim / ack for downstream consumers) ───────────────────────────────────────────
  /**
   * Hands out up to `limit` events that are `received`, or `processing` with an expired lease, oldest
   * first, marking them `processing` for `consumer` until now + `leaseMs`. Two consumers never get the
   * same event while its lease runs (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer).
   */
  claim(projectId: string, options: ClaimOptions): Promise<AnalyticsEvent[]>
  /**
   * Finishes events `consumer` holds: `processed`, or `failed` with `error`; increments `attempts`.
   * Returns how many were updated: an event another consumer claimed since (its lease ran out) is not.
   */
  ack(projectId: string, options: AckOptions): Promise<number>

  // ── tracking plan ────────────────────────────────────────────────────────────────────────────────
  saveSchema(schema: StoredSchema): Promise<void>
  listSchemas(projectId: string): Promise<StoredSchema[]>

  // ── projects and keys ────────────────────────────────────────────────────────────────────────────
  createProject(project: Project): Promise<void>
  getProject(projectId: string): Promise<Project | undefined>
  listProjects(): Promise<Project[]>
  updateProjectSettings(projectId: string, settings: Partial<ProjectSettings>): Promise<Project | undefined>
  saveApiKey(key: ApiKeyRecord): Promise<void>
  /** Looks a key up by the SHA-256 of its secret; revoked keys are not returned. */
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>
  listApiKeys(projectId: string): Promise<ApiKeyRecord[]>
  revokeApiKey(projectId: string, keyId: string): Promise<boolean>
}

export type StoreDialectName = 'sqlite' | 'postgres'

/** A rejected event on its way into the failed-event store. */
export interface NewFailedEvent {
  id: string
  projectId: string
  receivedAt: string
  payload: unknown
  errors: ValidationIssue[]
  /** The request's client IP as the event store would keep it (anonymised unless `storeRawIp`). */
  clientIp?: string | null
  /** The request's `User-Agent` header. */
  userAgent?: string | null
}

export interface InsertOutcome {
  /**
   * `dropped`: not written because its person was erased (GDPR) after the event was received — it had
   * been accepted by an ingest node, or waited in a group commit, while the erasure ran (docs/api.md).
   */
  status: 'accepted' | 'duplicate' | 'dropped'
  /** The stored id: the new one when accepted, the existing one when duplicate (a dropped one's own). */
  id: string
}

export interface EventPage {
  events: AnalyticsEvent[]
  nextCursor: string | null
}

export interface DeleteFilter {
  userId?: string
  anonymousId?: string
}

export interface FailedEventQuery {
  from?: string
  to?: string
  /** Only failed events that have an issue with this code. */
  code?: string
  limit?: number
  cursor?: string
}

export interface FailedEventPage {
  failedEvents: FailedEvent[]
  nextCursor: string | null
}

export interface ClaimOptions {
  consumer: string
  limit: number
  leaseMs: number
  /** Restrict to these types (optional). */
  types?: string[]
}

export interface AckOptions {
  /** The consumer that claimed the events: only events it still holds are finished. */
  consumer: string
  ids: readonly string[]
  status: Extract<EventStatus, 'processed' | 'failed'>
  /** Kept with `failed`. */
  error?: string
}

export type { ApiKeyRecord, ApiKeyRole, Project, ProjectSettings, StoredSchema }
