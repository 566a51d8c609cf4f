import { CompiledQuery, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely'
import { parseIsoTime } from '../enrich/iso-time.js'
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
  dedupeOnEvents: false,
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

  /** A bound-parameter placeholder for the n-th (1-based) parameter. */
  protected abstract placeholder(n: number): string

  /** Identifiers come from code (table/column names of the schema), never from input; quoted anyway. */
  protected quote(identifier: string): string {
    return `"${identifier.replace(/"/g, '""')}"`
  }

  #multiRowSql(table: string, columns: readonly string[], count: number, suffix = ''): string {
    let n = 0
    const tuples: string[] = new Array(count)
    for (let r = 0; r < count; r++) {
      const ph: string[] = new Array(columns.length)
      for (let c = 0; c < columns.length; c++) ph[c] = this.placeholder(++n)
      tuples[r] = `(${ph.join(',')})`
    }
    return `insert into ${this.quote(table)} (${columns.map((c) => this.quote(c)).join(',')}) values ${tuples.join(',')}${suffix}`
  }

  #chunks(columns: readonly string[], rows: readonly unknown[][]): (readonly unknown[][])[] {
    const size = Math.max(1, Math.floor(this.capabilities.maxBindParams / columns.length))
    const out: (readonly unknown[][])[] = []
    for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size))
    return out
  }

  // SQL text is generated directly (not through the query builder): on 1,000-row batches the builder's
  // per-value nodes cost more than the database (bench/store.ts).
  async insertRows(
    trx: Transaction<Database>,
    table: string,
    columns: readonly string[],
    rows: readonly unknown[][],
  ): Promise<void> {
    for (const chunk of this.#chunks(columns, rows)) {
      await trx.executeQuery(
        CompiledQuery.raw(
          `/* tally:insert-${table} */ ` + this.#multiRowSql(table, columns, chunk.length),
          chunk.flat(),
        ),
      )
    }
  }

  async insertIgnoringConflicts(
    trx: Transaction<Database>,
    table: string,
    columns: readonly string[],
    conflictColumns: readonly string[],
    rows: readonly unknown[][],
  ): Promise<boolean[]> {
    const keyIdx = conflictColumns.map((c) => columns.indexOf(c))
    const keyOf = (values: readonly unknown[]) => JSON.stringify(values)
    const inserted = new Set<string>()
    const conflict = conflictColumns.map((c) => this.quote(c)).join(',')
    const suffix = ` on conflict (${conflict}) do nothing returning ${conflict}`
    for (const chunk of this.#chunks(columns, rows)) {
      const result = await trx.executeQuery<Record<string, unknown>>(
        CompiledQuery.raw(
          `/* tally:insert-${table} */ ` + this.#multiRowSql(table, columns, chunk.length, suffix),
          chunk.flat(),
        ),
      )
      for (const r of result.rows) inserted.add(keyOf(conflictColumns.map((c) => r[c])))
    }
    const seen = new Set<string>()
    return rows.map((row) => {
      const key = keyOf(keyIdx.map((i) => row[i]))
      if (seen.has(key)) return false
      seen.add(key)
      return inserted.has(key)
    })
  }

  toDbJson(value: unknown): string {
    return JSON.stringify(value ?? null)
  }
}

/**
 * Epoch ms from an ISO string, Date or number; throws on an unparsable time. Strings go through
 * `parseIsoTime` (Date.parse's answer, faster for the canonical form): two per event row written.
 */
export function toEpochMs(value: string | Date | number): number {
  const ms =
    typeof value === 'number' ? value : typeof value === 'string' ? parseIsoTime(value) : value.getTime()
  if (!Number.isFinite(ms)) throw new RangeError(`Not a time: ${String(value)}`)
  return ms
}
