import type { Insertable, Selectable } from 'kysely'
import type { AnalyticsEvent } from '../schema/analytics-event.js'
import type { FailedEvent } from '../schema/failed-event.js'
import type { EventsTable, FailedEventsTable } from './database.js'
import type { StoreDialect } from './dialect.js'
import type { NewFailedEvent } from './event-store.js'

/** Columns of `events` returned to callers (lease bookkeeping stays inside the store). */
export const EVENT_COLUMNS = [
  'id',
  'project_id',
  'type',
  'name',
  'message_id',
  'user_id',
  'anonymous_id',
  'session_id',
  'group_id',
  'previous_id',
  'timestamp',
  'original_timestamp',
  'sent_at',
  'received_at',
  'properties',
  'traits',
  'context',
  'status',
  'error',
  'attempts',
  'tags',
  'schema_name',
  'schema_version',
  'violations',
] as const satisfies readonly (keyof EventsTable)[]

export type EventRow = Pick<Selectable<EventsTable>, (typeof EVENT_COLUMNS)[number]>

/** Columns written per event row (chunk size = maxBindParams / this). */
export const EVENT_INSERT_COLUMN_COUNT = EVENT_COLUMNS.length

export function toEventRow(d: StoreDialect, e: AnalyticsEvent): Insertable<EventsTable> {
  return {
    id: e.id,
    project_id: e.projectId,
    type: e.type,
    name: e.name ?? null,
    message_id: e.messageId,
    user_id: e.userId ?? null,
    anonymous_id: e.anonymousId ?? null,
    session_id: e.sessionId ?? null,
    group_id: e.groupId ?? null,
    previous_id: e.previousId ?? null,
    timestamp: d.toDbTime(e.timestamp),
    original_timestamp: e.originalTimestamp ?? null,
    sent_at: e.sentAt ?? null,
    received_at: d.toDbTime(e.receivedAt),
    properties: d.toDbJson(e.properties ?? {}),
    traits: e.traits == null ? null : d.toDbJson(e.traits),
    context: d.toDbJson(e.context ?? {}),
    status: e.status ?? 'received',
    error: e.error ?? null,
    attempts: e.attempts ?? 0,
    tags: d.toDbJson(e.tags ?? []),
    schema_name: e.schema?.name ?? null,
    schema_version: e.schema?.version ?? null,
    violations: d.toDbJson(e.violations ?? []),
  }
}

/** Column positions in an encoded event row (`EVENT_COLUMNS` order) that the insert itself reads. */
export const ROW_ID = EVENT_COLUMNS.indexOf('id')
export const ROW_PROJECT_ID = EVENT_COLUMNS.indexOf('project_id')
export const ROW_MESSAGE_ID = EVENT_COLUMNS.indexOf('message_id')

/** Columns of `failed_events`, in the order `encodeFailedRow` writes them. */
export const FAILED_COLUMNS = [
  'id',
  'project_id',
  'received_at',
  'payload',
  'errors',
  'replay_state',
  'replay_attempts',
  'last_replay_at',
  'replayed_event_id',
  'client_ip',
  'user_agent',
] as const satisfies readonly (keyof FailedEventsTable)[]

/**
 * A group commit as the insert binds it: one array of column values per event (`EVENT_COLUMNS` order) and
 * per failed event (`FAILED_COLUMNS` order). Plain arrays of strings, numbers and nulls, so a batch
 * encoded on one thread crosses to another (the SQLite write worker) by a cheap structured clone, and the
 * JSON columns are serialised exactly once.
 */
export interface EncodedBatch {
  events: unknown[][]
  failed: unknown[][]
}

/**
 * `toEventRow` as bind values in `EVENT_COLUMNS` order, written out rather than mapped from the row object:
 * it runs for every event on the main thread (bench/worker-encoding.ts).
 */
export function encodeEventRow(d: StoreDialect, e: AnalyticsEvent): unknown[] {
  return [
    e.id,
    e.projectId,
    e.type,
    e.name ?? null,
    e.messageId,
    e.userId ?? null,
    e.anonymousId ?? null,
    e.sessionId ?? null,
    e.groupId ?? null,
    e.previousId ?? null,
    d.toDbTime(e.timestamp),
    e.originalTimestamp ?? null,
    e.sentAt ?? null,
    d.toDbTime(e.receivedAt),
    d.toDbJson(e.properties ?? {}),
    e.traits == null ? null : d.toDbJson(e.traits),
    d.toDbJson(e.context ?? {}),
    e.status ?? 'received',
    e.error ?? null,
    e.attempts ?? 0,
    d.toDbJson(e.tags ?? []),
    e.schema?.name ?? null,
    e.schema?.version ?? null,
    d.toDbJson(e.violations ?? []),
  ]
}

/** `toFailedRow` as bind values in `FAILED_COLUMNS` order. */
export function encodeFailedRow(d: StoreDialect, f: NewFailedEvent): unknown[] {
  const row = toFailedRow(d, f) as Record<string, unknown>
  return FAILED_COLUMNS.map((c) => row[c])
}

export function encodeBatch(
  d: StoreDialect,
  events: readonly AnalyticsEvent[],
  failed: readonly NewFailedEvent[],
): EncodedBatch {
  return { events: events.map((e) => encodeEventRow(d, e)), failed: failed.map((f) => encodeFailedRow(d, f)) }
}

export function fromEventRow(d: StoreDialect, r: EventRow): AnalyticsEvent {
  return {
    id: r.id,
    projectId: r.project_id,
    type: r.type as AnalyticsEvent['type'],
    name: r.name,
    messageId: r.message_id,
    userId: r.user_id,
    anonymousId: r.anonymous_id,
    sessionId: r.session_id,
    groupId: r.group_id,
    previousId: r.previous_id,
    timestamp: d.fromDbTime(r.timestamp),
    originalTimestamp: r.original_timestamp,
    sentAt: r.sent_at,
    receivedAt: d.fromDbTime(r.received_at),
    properties: d.fromDbJson(r.properties) as AnalyticsEvent['properties'],
    traits: r.traits == null ? null : (d.fromDbJson(r.traits) as AnalyticsEvent['traits']),
    context: d.fromDbJson(r.context) as AnalyticsEvent['context'],
    status: r.status as AnalyticsEvent['status'],
    error: r.error,
    attempts: Number(r.attempts),
    tags: d.fromDbJson(r.tags) as string[],
    schema: r.schema_name == null ? null : { name: r.schema_name, version: r.schema_version ?? '' },
    violations: d.fromDbJson(r.violations) as AnalyticsEvent['violations'],
  }
}

export function toFailedRow(d: StoreDialect, f: NewFailedEvent): Insertable<FailedEventsTable> {
  return {
    id: f.id,
    project_id: f.projectId,
    received_at: d.toDbTime(f.receivedAt),
    payload: d.toDbJson(f.payload),
    errors: d.toDbJson(f.errors),
    replay_state: 'pending',
    replay_attempts: 0,
    last_replay_at: null,
    replayed_event_id: null,
    client_ip: f.clientIp ?? null,
    user_agent: f.userAgent ?? null,
  }
}

export function fromFailedRow(d: StoreDialect, r: Selectable<FailedEventsTable>): FailedEvent {
  return {
    id: r.id,
    projectId: r.project_id,
    receivedAt: d.fromDbTime(r.received_at),
    payload: d.fromDbJson(r.payload),
    errors: d.fromDbJson(r.errors) as FailedEvent['errors'],
    replayState: r.replay_state as FailedEvent['replayState'],
    replayAttempts: Number(r.replay_attempts),
    lastReplayAt: r.last_replay_at == null ? null : d.fromDbTime(r.last_replay_at),
    replayedEventId: r.replayed_event_id,
    clientIp: r.client_ip ?? null,
    userAgent: r.user_agent ?? null,
  }
}

/** Splits `items` into chunks that keep `columns` bound parameters per item under `maxParams`. */
export function chunkForParams<T>(items: readonly T[], columns: number, maxParams: number): T[][] {
  const size = Math.max(1, Math.floor(maxParams / columns))
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
