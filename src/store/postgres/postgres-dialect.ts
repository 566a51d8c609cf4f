import { Kysely, PostgresDialect, type RawBuilder, type SqlBool, sql } from 'kysely'
import pg from 'pg'
import type { CheckedPredicate } from '../../query/property-path.js'
import type { Database } from '../database.js'
import type { ColumnTypes, DbTime, JsonExtractMode, StoreCapabilities, TimeUnit } from '../dialect.js'
import {
  DEFAULT_CAPABILITIES,
  StoreDialectBase,
  toEpochMs,
  UNIT_MS,
  WEEK_ORIGIN_MS,
} from '../dialect-base.js'
import type { PostgresDialectConfig } from './postgres-dialect-config.js'
import { pgJsonText, pgJsonValue, postgresPredicate } from './postgres-predicates.js'

const PG_CAPABILITIES: StoreCapabilities = Object.freeze({
  ...DEFAULT_CAPABILITIES,
  supportsJsonb: true,
  // The wire protocol counts parameters in an Int16.
  maxBindParams: 65_535,
  supportsConcurrentWriters: true,
})

const PG_COLUMN_TYPES: ColumnTypes = Object.freeze({
  time: 'timestamptz',
  json: 'jsonb',
  bigint: 'bigint',
  double: 'double precision',
  bytes: 'bytea',
})

const INT8_OID = 20
const NUMERIC_OID = 1700

/**
 * Type parsers of this pool only (the global `pg.types` stay untouched): `bigint` (counts, epoch ms) and
 * `numeric` come back as JS numbers, like SQLite's, so one Kysely query yields the same rows on both.
 */
const PG_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (v: string) => (v === null ? null : Number(v))
    return pg.types.getTypeParser(oid, format as 'text')
  },
} as unknown as pg.CustomTypesConfig

/**
 * PostgreSQL through a `pg` Pool: `timestamptz` times, `jsonb` documents, row locks with
 * `FOR UPDATE SKIP LOCKED` for claims. See docs/storage.md.
 *
 * @example
 * const dialect = new PostgresStoreDialect({ connectionString: 'postgres://tally@localhost/tally' })
 */
export class PostgresStoreDialect extends StoreDialectBase {
  readonly name = 'postgres' as const
  readonly columnTypes = PG_COLUMN_TYPES
  readonly #config: Readonly<Required<PostgresDialectConfig>>

  constructor(config: PostgresDialectConfig) {
    super()
    const statementTimeoutMs = config.statementTimeoutMs ?? 30_000
    this.#config = Object.freeze({
      maxConnections: config.maxConnections ?? 10,
      statementTimeoutMs,
      connectTimeoutMs: config.connectTimeoutMs ?? 10_000,
      queryTimeoutMs: config.queryTimeoutMs ?? statementTimeoutMs + 5_000,
      connectionString: config.connectionString,
    })
  }

  override get capabilities(): StoreCapabilities {
    return PG_CAPABILITIES
  }

  /** A pool with Tally's settings; exposed for tools (benchmarks) that need the raw driver. */
  createPool(): pg.Pool {
    const { connectionString, maxConnections, statementTimeoutMs, connectTimeoutMs, queryTimeoutMs } =
      this.#config
    const pool = new pg.Pool({
      connectionString,
      max: maxConnections,
      types: PG_TYPES,
      statement_timeout: statementTimeoutMs,
      // Bounds on this side, for a server that stops answering without closing the connection: the
      // connect (and the wait for a pooled client), each query, and TCP keepalive to notice a dead peer.
      connectionTimeoutMillis: connectTimeoutMs,
      query_timeout: queryTimeoutMs,
      keepAlive: true,
      application_name: 'tally',
    })
    // An idle client that loses its server must not crash the process; the next query reports it.
    pool.on('error', () => {})
    // A checked-out client (Kysely holds one between the statements of a transaction) whose backend is
    // terminated emits 'error' on the client itself, which pg-pool does not listen to: without this the
    // process crashes (found by test/reliability/db-faults.test.ts). The pending query still rejects, and
    // pg-pool discards the broken client on release.
    pool.on('connect', (client) => {
      client.on('error', () => {})
    })
    return pool
  }

  protected placeholder(n: number): string {
    return `$${n}`
  }

  createKysely(): Kysely<Database> {
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool: this.createPool() }) })
  }

  timeBucket(column: string, unit: TimeUnit, offsetMinutes = 0): RawBuilder<number> {
    const width = UNIT_MS[unit]
    const origin = (unit === 'week' ? WEEK_ORIGIN_MS : 0) - Math.trunc(offsetMinutes) * 60_000
    return sql<number>`(floor((${this.epochMs(column)} - ${sql.lit(origin)}) / ${sql.lit(width)}::float8) * ${sql.lit(width)} + ${sql.lit(origin)})::bigint`
  }

  epochMs(column: string): RawBuilder<number> {
    return sql<number>`(extract(epoch from ${sql.ref(column)}) * 1000)::bigint`
  }

  jsonExtract(column: string, path: readonly string[], mode: JsonExtractMode = 'text'): RawBuilder<unknown> {
    const col = sql.ref(column)
    const value = pgJsonValue(col, path)
    if (mode === 'number') {
      return sql`(case when jsonb_typeof(${value}) = 'number' then ${pgJsonText(col, path)}::float8 end)`
    }
    if (mode === 'json') return value
    return pgJsonText(col, path)
  }

  jsonPredicate(column: string, predicate: CheckedPredicate): RawBuilder<SqlBool> {
    return postgresPredicate(column, predicate)
  }

  now(): RawBuilder<DbTime> {
    return sql<DbTime>`now()`
  }

  toDbTime(value: string | Date | number): DbTime {
    return new Date(toEpochMs(value))
  }

  fromDbTime(value: unknown): string {
    return (value instanceof Date ? value : new Date(value as string)).toISOString()
  }

  fromDbJson(value: unknown): unknown {
    return value
  }
}
