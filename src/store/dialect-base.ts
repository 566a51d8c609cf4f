import type { Kysely, RawBuilder, SqlBool } from 'kysely'
import type { CheckedPredicate } from '../query/property-path.js'
import type { Database } from './database.js'
import type {
  ColumnTypes,
  DbTime,
  JsonExtractMode,
  StoreCapabilities,
  StoreDialect,
  TimeUnit,
} from './dialect.js'
import type { StoreDialectName } from './event-store.js'

/** Capability defaults: what a conservative SQL database offers. Dialects override what they do better. */
export const DEFAULT_CAPABILITIES: StoreCapabilities = Object.freeze({
  supportsReturning: true,
  supportsJsonb: false,
  maxBindParams: 999,
  supportsConcurrentWriters: false,
})

/** Bucket widths in milliseconds. */
export const UNIT_MS: Readonly<Record<TimeUnit, number>> = Object.freeze({
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
})
/** 1970-01-01 was a Thursday: weeks start on Monday, four days later. */
export const WEEK_ORIGIN_MS = 4 * 86_400_000

/** Shared parts of every dialect; subclasses supply the connection and the SQL fragments. */
export abstract class StoreDialectBase implements StoreDialect {
  abstract readonly name: StoreDialectName
  abstract readonly columnTypes: ColumnTypes
  get capabilities(): StoreCapabilities {
    return DEFAULT_CAPABILITIES
  }
  abstract createKysely(): Kysely<Database>
  abstract timeBucket(column: string, unit: TimeUnit, offsetMinutes?: number): RawBuilder<number>
  abstract epochMs(column: string): RawBuilder<number>
  abstract jsonExtract(column: string, path: readonly string[], mode?: JsonExtractMode): RawBuilder<unknown>
  abstract jsonPredicate(column: string, predicate: CheckedPredicate): RawBuilder<SqlBool>
  abstract now(): RawBuilder<DbTime>
  abstract toDbTime(value: string | Date | number): DbTime
  abstract fromDbTime(value: unknown): string
  abstract fromDbJson(value: unknown): unknown

  toDbJson(value: unknown): string {
    return JSON.stringify(value ?? null)
  }
}

/** Epoch ms from an ISO string, Date or number; throws on an unparsable time. */
export function toEpochMs(value: string | Date | number): number {
  const ms =
    typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : value.getTime()
  if (!Number.isFinite(ms)) throw new RangeError(`Not a time: ${String(value)}`)
  return ms
}
