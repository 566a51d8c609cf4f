import type { Kysely, RawBuilder, SqlBool, Transaction } from 'kysely'
import type { CheckedPredicate } from '../query/property-path.js'
import type { Database } from './database.js'
import type { StoreDialectName } from './event-store.js'

/**
 * What a database can do, as readonly flags. `StoreDialectBase` supplies the defaults, so adding a flag
 * later breaks no dialect.
 */
export interface StoreCapabilities {
  /** `INSERT … RETURNING`. Default true (SQLite ≥ 3.35 and PostgreSQL both have it). */
  readonly supportsReturning: boolean
  /** A binary JSON type with operators (`jsonb`). Default false. */
  readonly supportsJsonb: boolean
  /** Most bound parameters in one statement; batch inserts are chunked below it. Default 999. */
  readonly maxBindParams: number
  /** Several transactions may write at once (row locks, `FOR UPDATE SKIP LOCKED`). Default false. */
  readonly supportsConcurrentWriters: boolean
  /**
   * Where a `(project_id, message_id)` is kept unique: a unique index on `events` (true: SQLite, migration
   * 0007) or the narrow `event_dedupe` table (false: PostgreSQL, where it measured faster). Default false.
   */
  readonly dedupeOnEvents: boolean
}

/** Buckets a time series can use. `week` starts on Monday. */
export const TIME_UNITS = ['minute', 'hour', 'day', 'week'] as const
export type TimeUnit = (typeof TIME_UNITS)[number]

/** How a JSON value is read by `jsonExtract`: as text, as a number (non-numbers read as NULL), or as JSON. */
export type JsonExtractMode = 'text' | 'number' | 'json'

/**
 * A time as the database column holds it: epoch milliseconds (SQLite `INTEGER`) or a `Date`
 * (PostgreSQL `timestamptz`). Convert with `StoreDialect.toDbTime` / `fromDbTime`.
 */
export type DbTime = number | Date

/** SQL type names the migrations use for portable columns. */
export interface ColumnTypes {
  /** A point in time (`integer` epoch ms / `timestamptz`). */
  readonly time: 'integer' | 'timestamptz'
  /** A JSON document (`text` / `jsonb`). */
  readonly json: 'text' | 'jsonb'
  /** A 64-bit integer (`integer` / `bigint`). Read back as a JS number on both. */
  readonly bigint: 'integer' | 'bigint'
  /** A double (`real` / `double precision`). */
  readonly double: 'real' | 'double precision'
  /** Raw bytes (`blob` / `bytea`). */
  readonly bytes: 'blob' | 'bytea'
}

/**
 * A database dialect as Tally's store sees it: a factory of parts (the Kysely instance), its capabilities,
 * and the few SQL fragments that differ between databases, so statistics and queries stay ONE Kysely query
 * for both.
 *
 * @example
 * const bucket = dialect.timeBucket('events.timestamp', 'hour')
 * db.selectFrom('events').select([bucket.as('bucket'), (eb) => eb.fn.countAll().as('n')]).groupBy(bucket)
 */
export interface StoreDialect {
  readonly name: StoreDialectName
  readonly capabilities: StoreCapabilities
  readonly columnTypes: ColumnTypes
  /** Opens the connection (pool) and wraps it in Kysely. Call once; `db.destroy()` closes it. */
  createKysely(): Kysely<Database>
  /**
   * SQLite: called before a write once a write failed with a full disk. Checkpoints the write-ahead log
   * into the database and truncates it, and from then on checkpoints it early; returns true when the log
   * was emptied (otherwise the store tries again before the next write). Absent on PostgreSQL.
   */
  relieveFullDisk?(): boolean
  /**
   * Start of the bucket that holds `column` (a time column), as epoch milliseconds (a JS number on both
   * dialects). `offsetMinutes` shifts bucket edges for a fixed UTC offset (e.g. 120 for UTC+2).
   */
  timeBucket(column: string, unit: TimeUnit, offsetMinutes?: number): RawBuilder<number>
  /** Epoch milliseconds of a time column as a JS number. */
  epochMs(column: string): RawBuilder<number>
  /**
   * The value at `path` (plain keys, already validated) inside the JSON column `column`.
   * The path is passed as a bound parameter, never spliced into SQL.
   */
  jsonExtract(column: string, path: readonly string[], mode?: JsonExtractMode): RawBuilder<unknown>
  /**
   * A property predicate (`eq ne gt gte lt lte in contains exists`) on the JSON column `column`, already
   * checked by `checkPredicate`. Never NULL: a missing path makes it false (`ne`: true).
   */
  jsonPredicate(column: string, predicate: CheckedPredicate): RawBuilder<SqlBool>
  /**
   * Bulk insert on the ingest path, inside `trx`: `rows` are value arrays in `columns` order. Chunked under
   * `maxBindParams`. SQLite runs a cached prepared statement per row; PostgreSQL multi-row INSERTs.
   */
  insertRows(
    trx: Transaction<Database>,
    table: string,
    columns: readonly string[],
    rows: readonly unknown[][],
  ): Promise<void>
  /**
   * Like `insertRows` with `ON CONFLICT (conflictColumns) DO NOTHING`; tells for each row whether it was
   * inserted (false: a row with the same key exists, or an earlier row of this call had it).
   */
  insertIgnoringConflicts(
    trx: Transaction<Database>,
    table: string,
    columns: readonly string[],
    conflictColumns: readonly string[],
    rows: readonly unknown[][],
  ): Promise<boolean[]>
  /** The current time as the database column type. */
  now(): RawBuilder<DbTime>
  /** A time (ISO string, Date or epoch ms) as the column type expects it. */
  toDbTime(value: string | Date | number): DbTime
  /** A time column value back to an ISO-8601 UTC string. */
  fromDbTime(value: unknown): string
  /** A value for a JSON column (always serialised text; PostgreSQL casts it to jsonb). */
  toDbJson(value: unknown): string
  /** A JSON column value back to a JS value. */
  fromDbJson(value: unknown): unknown
}
