import type { ColumnType } from 'kysely'
import type { DbTime } from './dialect.js'

/** A time column: epoch ms in SQLite, `timestamptz` (a `Date`) in PostgreSQL. See `StoreDialect.toDbTime`. */
export type TimeColumn = ColumnType<DbTime, DbTime, DbTime>
/** A JSON column: written as JSON text; read back as text (SQLite) or parsed (PostgreSQL). Use `fromDbJson`. */
export type JsonColumn = ColumnType<unknown, string, string>

/**
 * The hot table. Keyed by the event's UUIDv7 `id` (time-ordered, so inserts append). Indexes:
 * `(project_id, timestamp, id)`, `(project_id, type, name, timestamp)` and a partial
 * `(project_id, id) WHERE status IN ('received','processing')` for claims. See docs/storage.md.
 */
export interface EventsTable {
  id: string
  project_id: string
  type: string
  name: string | null
  message_id: string
  user_id: string | null
  anonymous_id: string | null
  session_id: string | null
  group_id: string | null
  previous_id: string | null
  timestamp: TimeColumn
  /** ISO text as the client sent it (never range-queried). */
  original_timestamp: string | null
  sent_at: string | null
  received_at: TimeColumn
  properties: JsonColumn
  traits: ColumnType<unknown, string | null, string | null>
  context: JsonColumn
  status: string
  error: string | null
  attempts: number
  tags: JsonColumn
  schema_name: string | null
  schema_version: string | null
  violations: JsonColumn
  /** Consumer holding the processing lease (claim/ack). */
  claimed_by: string | null
  lease_until: ColumnType<DbTime | null, DbTime | null, DbTime | null>
}

/**
 * Idempotency: one narrow row per `(project_id, message_id)` pointing at the stored event. Kept out of the
 * hot table because message ids arrive in random order (MEASUREMENTS.md: a random-order index costs 4x).
 */
export interface EventDedupeTable {
  project_id: string
  message_id: string
  event_id: string
}

export interface FailedEventsTable {
  id: string
  project_id: string
  received_at: TimeColumn
  payload: JsonColumn
  errors: JsonColumn
  replay_state: string
  replay_attempts: number
  last_replay_at: ColumnType<DbTime | null, DbTime | null, DbTime | null>
  replayed_event_id: string | null
  client_ip: string | null
  user_agent: string | null
}

export interface SchemasTable {
  project_id: string
  event_type: string
  event_name: string
  version: string
  json_schema: JsonColumn
  created_at: TimeColumn
}

export interface ProjectsTable {
  id: string
  name: string
  created_at: TimeColumn
  settings: JsonColumn
}

export interface ApiKeysTable {
  id: string
  project_id: string
  role: string
  hash: string
  prefix: string
  name: string | null
  created_at: TimeColumn
  revoked_at: ColumnType<DbTime | null, DbTime | null, DbTime | null>
}

/**
 * Every table Tally's store owns, for `Kysely<Database>`. Column names are snake_case. A stage that adds
 * its own tables (with a migration in `migrations/`) types them with `db.withTables<TheirTables>()`.
 *
 * @example
 * const rows = await db.selectFrom('events').select(['id', 'type']).where('project_id', '=', p).execute()
 */
/** One row (`id = 1`): the highest events rowid counted in the rollups (SQLite, deferred rollups). */
export interface RollupWatermarkTable {
  id: number
  last_rowid: number
}

/** A GDPR erasure (migration 0009): events of this person accepted before `erased_at` are never written. */
export interface ErasuresTable {
  project_id: string
  user_id: string | null
  anonymous_id: string | null
  erased_at: TimeColumn
}

export interface Database {
  erasures: ErasuresTable
  events: EventsTable
  event_dedupe: EventDedupeTable
  failed_events: FailedEventsTable
  schemas: SchemasTable
  projects: ProjectsTable
  api_keys: ApiKeysTable
  rollup_watermark: RollupWatermarkTable
}
