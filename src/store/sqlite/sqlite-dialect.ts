import { existsSync, mkdirSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type SqliteDialectConfig as KyselySqliteConfig,
  type SqliteDatabase as KyselySqliteDatabase,
  type QueryResult,
  type RawBuilder,
  type SqlBool,
  SqliteDialect,
  SqliteDriver,
  sql,
  type Transaction,
} from 'kysely'
import { AppError } from '../../errors/app-error.js'
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
import type { SqliteDialectConfig } from './sqlite-dialect-config.js'
import { sqlitePredicate } from './sqlite-predicates.js'

const SQLITE_CAPABILITIES: StoreCapabilities = Object.freeze({
  ...DEFAULT_CAPABILITIES,
  // SQLITE_MAX_VARIABLE_NUMBER defaults to 32,766 since SQLite 3.32 (better-sqlite3 12 bundles 3.5x).
  maxBindParams: 32_766,
  dedupeOnEvents: true,
})

const SQLITE_COLUMN_TYPES: ColumnTypes = Object.freeze({
  time: 'integer',
  json: 'text',
  bigint: 'integer',
  double: 'real',
  bytes: 'blob',
})

/** A SQLite JSON path (`$."a"."b"`). Keys are validated by the caller; quoting keeps `-` and `$` literal. */
export function sqliteJsonPath(path: readonly string[]): string {
  return '$' + path.map((k) => `."${k}"`).join('')
}

/**
 * The embedded default: one better-sqlite3 connection in WAL mode with `synchronous=FULL`, so an
 * acknowledged (committed) transaction survives a process crash and a power loss. Times are INTEGER
 * epoch milliseconds, JSON is TEXT read with the JSON1 functions. See docs/storage.md.
 *
 * @example
 * const dialect = new SqliteStoreDialect({ filename: './data/tally.db' })
 * const db = dialect.createKysely()
 */
export class SqliteStoreDialect extends StoreDialectBase {
  readonly name = 'sqlite' as const
  readonly columnTypes = SQLITE_COLUMN_TYPES
  readonly #config: Readonly<Required<SqliteDialectConfig>>
  /** The connection Kysely uses (SQLite has one); the ingest path runs cached statements on it. */
  #connection: BetterSqlite3.Database | undefined
  readonly #statements = new Map<string, BetterSqlite3.Statement>()

  constructor(config: SqliteDialectConfig) {
    super()
    // Options passed as `undefined` (createStore forwards its own optional fields) keep the default: a plain
    // spread would turn `busyTimeoutMs: undefined` into `busy_timeout = NaN`, i.e. no waiting at all.
    const given = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined))
    this.#config = Object.freeze({
      busyTimeoutMs: 5_000,
      cacheSizeKib: 65_536,
      synchronous: 'full' as const,
      walAutocheckpointPages: 10_000,
      ...given,
    } as Required<SqliteDialectConfig>)
  }

  override get capabilities(): StoreCapabilities {
    return SQLITE_CAPABILITIES
  }

  get filename(): string {
    return this.#config.filename
  }

  /** Opens the file with Tally's pragmas; exposed so tools (the crash test, benchmarks) get the same settings. */
  openDatabase(): BetterSqlite3.Database {
    const { filename, busyTimeoutMs, cacheSizeKib, synchronous, walAutocheckpointPages } = this.#config
    if (filename !== ':memory:' && filename !== '') createParentDirectory(filename)
    const db = new BetterSqlite3(filename)
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`)
    // A checkpoint copies every WAL page into the file and fsyncs it; with random-order dedupe keys a
    // 1,000-event commit dirties ~1,000 pages, so the default 1,000-page threshold checkpointed on almost
    // every commit. 10,000 pages lets pages dirtied by several commits be copied once.
    db.pragma(`wal_autocheckpoint = ${Math.trunc(walAutocheckpointPages)}`)
    db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`)
    db.pragma('foreign_keys = ON')
    db.pragma(`cache_size = ${-Math.trunc(cacheSizeKib)}`)
    db.pragma('temp_store = MEMORY')
    return db
  }

  createKysely(): Kysely<Database> {
    return new Kysely<Database>({
      dialect: new ImmediateSqliteDialect(
        {
          database: async () => {
            this.#statements.clear()
            const db = this.openDatabase()
            // SQLite's own wait for a lock is a synchronous sleep: up to busy_timeout (5 s) during which
            // the server's thread answers nothing, /healthz included. Here SQLite waits only briefly and
            // the driver waits out the rest between attempts (PatientConnection), the event loop turning.
            db.pragma(`busy_timeout = ${Math.min(SYNC_BUSY_WAIT_MS, Math.trunc(this.#config.busyTimeoutMs))}`)
            this.#connection = db
            return cachingStatements(db)
          },
        },
        {
          busyTimeoutMs: this.#config.busyTimeoutMs,
          inTransaction: () => this.#connection?.inTransaction ?? false,
        },
      ),
    })
  }

  protected placeholder(_n: number): string {
    return '?'
  }

  #statement(key: string, text: string): BetterSqlite3.Statement {
    let stmt = this.#statements.get(key)
    if (!stmt) {
      stmt = this.#connection!.prepare(text)
      this.#statements.set(key, stmt)
    }
    return stmt
  }

  // A cached prepared statement per row beats one 1,000-row statement here: preparing a statement with
  // 24,000 parameters costs more than the 1,000 steps (bench/store.ts). `trx` holds the one connection,
  // so these rows are part of its transaction.
  override async insertRows(
    trx: Transaction<Database>,
    table: string,
    columns: readonly string[],
    rows: readonly unknown[][],
  ): Promise<void> {
    if (!this.#connection?.inTransaction) return super.insertRows(trx, table, columns, rows)
    const cols = columns.map((c) => this.quote(c)).join(',')
    const stmt = this.#statement(
      `insert:${table}:${cols}`,
      `insert into ${this.quote(table)} (${cols}) values (${columns.map(() => '?').join(',')})`,
    )
    for (const row of rows) stmt.run(row)
  }

  override async insertIgnoringConflicts(
    trx: Transaction<Database>,
    table: string,
    columns: readonly string[],
    conflictColumns: readonly string[],
    rows: readonly unknown[][],
  ): Promise<boolean[]> {
    if (!this.#connection?.inTransaction) {
      return super.insertIgnoringConflicts(trx, table, columns, conflictColumns, rows)
    }
    const cols = columns.map((c) => this.quote(c)).join(',')
    const conflict = conflictColumns.map((c) => this.quote(c)).join(',')
    const stmt = this.#statement(
      `upsert:${table}:${cols}:${conflict}`,
      `insert into ${this.quote(table)} (${cols}) values (${columns.map(() => '?').join(',')}) on conflict (${conflict}) do nothing`,
    )
    return rows.map((row) => stmt.run(row).changes === 1)
  }

  /**
   * After SQLITE_FULL. The WAL is checkpointed only every `walAutocheckpointPages` (10,000 pages, ~40 MB, for
   * ingest throughput): on a disk with less room than that, the WAL alone refilled any space freed after a
   * full disk and the store never recovered (RELIABILITY.md, suite 2). So: copy the WAL into the database
   * and truncate it now, and checkpoint at SQLite's default 1,000 pages from now on.
   */
  relieveFullDisk(): boolean {
    const db = this.#connection
    if (db === undefined || !db.open || db.inTransaction) return false
    try {
      db.pragma(`wal_autocheckpoint = ${SMALL_DISK_AUTOCHECKPOINT_PAGES}`)
      const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as {
        busy: number
        log: number
        checkpointed: number
      }[]
      return r !== undefined && r.busy === 0 && r.log === 0
    } catch {
      return false // still no room: the next write tries again
    }
  }

  timeBucket(column: string, unit: TimeUnit, offsetMinutes = 0): RawBuilder<number> {
    const width = UNIT_MS[unit]
    const origin = (unit === 'week' ? WEEK_ORIGIN_MS : 0) - Math.trunc(offsetMinutes) * 60_000
    // Integer division floors toward zero; times before 1970 + origin are not expected.
    return sql<number>`((${sql.ref(column)} - ${sql.lit(origin)}) / ${sql.lit(width)}) * ${sql.lit(width)} + ${sql.lit(origin)}`
  }

  epochMs(column: string): RawBuilder<number> {
    return sql<number>`${sql.ref(column)}`
  }

  jsonExtract(column: string, path: readonly string[], mode: JsonExtractMode = 'text'): RawBuilder<unknown> {
    const col = sql.ref(column)
    const p = sqliteJsonPath(path)
    if (mode === 'number') {
      return sql`(case when json_type(${col}, ${p}) in ('integer', 'real') then json_extract(${col}, ${p}) end)`
    }
    // `->` gives the value's JSON text as stored (`true` stays `true`; json_extract read it as 1), NULL when absent.
    if (mode === 'json') return sql`(${col} -> ${p})`
    // Booleans read as 'true'/'false' (json_extract alone gives 1/0), matching PostgreSQL's `#>>`.
    return sql`(case json_type(${col}, ${p}) when 'true' then 'true' when 'false' then 'false' when 'null' then null else cast(json_extract(${col}, ${p}) as text) end)`
  }

  jsonPredicate(column: string, predicate: CheckedPredicate): RawBuilder<SqlBool> {
    return sqlitePredicate(column, predicate)
  }

  now(): RawBuilder<DbTime> {
    return sql<DbTime>`cast(unixepoch('subsec') * 1000 as integer)`
  }

  toDbTime(value: string | Date | number): DbTime {
    return toEpochMs(value)
  }

  fromDbTime(value: unknown): string {
    return new Date(Number(value)).toISOString()
  }

  fromDbJson(value: unknown): unknown {
    return typeof value === 'string' ? JSON.parse(value) : value
  }
}

/** The WAL checkpoint threshold after a full disk: SQLite's default. */
const SMALL_DISK_AUTOCHECKPOINT_PAGES = 1000

/** Most SQL texts kept prepared per connection; the cache is emptied when it fills up. */
const STATEMENT_CACHE_SIZE = 500

/**
 * The connection as Kysely's SQLite driver sees it, with prepared statements reused by SQL text. Kysely
 * prepares every query it runs; for small statements (a group commit's rollup upserts, lookups, a commit of
 * one event) preparing costs as much as running them. Parameters are bound per run, so reuse is safe; a
 * statement still being iterated (a streamed query) is never handed out twice.
 */
function cachingStatements(db: BetterSqlite3.Database): KyselySqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>()
  return {
    close: () => db.close(),
    prepare(text: string) {
      let stmt = cache.get(text)
      if (stmt === undefined || stmt.busy) {
        stmt = db.prepare(text)
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.clear()
        cache.set(text, stmt)
      }
      return stmt
    },
  }
}

/**
 * Kysely's SQLite dialect with write transactions started by `BEGIN IMMEDIATE`: the write lock is taken
 * up front, so when another connection (the write worker, the CLI importer) writes the same file the
 * transaction waits `busy_timeout` for it instead of failing with SQLITE_BUSY when a deferred read
 * transaction tries to upgrade after the other connection committed.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: KyselySqliteConfig
  readonly #patience: Patience

  constructor(config: KyselySqliteConfig, patience: Patience) {
    super(config)
    this.#config = config
    this.#patience = patience
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config, this.#patience)
  }
}

/** How long a statement may wait for another connection's lock, and whether the connection holds one. */
interface Patience {
  busyTimeoutMs: number
  inTransaction: () => boolean
}

/** SQLite's synchronous busy wait per attempt on a Kysely connection (blocks the thread meanwhile). */
const SYNC_BUSY_WAIT_MS = 20

class ImmediateSqliteDriver extends SqliteDriver {
  readonly #patience: Patience
  #patient: PatientConnection | undefined

  constructor(config: KyselySqliteConfig, patience: Patience) {
    super(config)
    this.#patience = patience
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection()
    this.#patient ??= new PatientConnection(connection, this.#patience)
    return this.#patient
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}

/**
 * Retries a statement that found the database locked by another connection (SQLITE_BUSY: a `tally import`,
 * `tally purge`, the write worker), waiting between attempts with timers rather than in SQLite's
 * synchronous busy handler, until `busyTimeoutMs` has passed; then the error goes up (store_unavailable).
 * Only outside a transaction: `BEGIN IMMEDIATE` and single statements, which did nothing when refused.
 * Inside one, the write lock is already held.
 */
class PatientConnection implements DatabaseConnection {
  readonly #inner: DatabaseConnection
  readonly #patience: Patience

  constructor(inner: DatabaseConnection, patience: Patience) {
    this.#inner = inner
    this.#patience = patience
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const started = performance.now()
    let delay = 2
    for (;;) {
      try {
        return await this.#inner.executeQuery<R>(query)
      } catch (err) {
        const busy = (err as { code?: unknown }).code === 'SQLITE_BUSY'
        if (!busy || this.#patience.inTransaction()) throw err
        if (performance.now() - started + delay > this.#patience.busyTimeoutMs) throw err
        await new Promise((resolve) => setTimeout(resolve, delay))
        // At most 10 ms apart: a writer that frees the lock between short transactions (a purge's slices
        // pause 15 ms) must find this one asking.
        delay = Math.min(delay * 2, 10)
      }
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.#inner.streamQuery<R>(query, chunkSize)
  }
}

/**
 * Creates the directories a new SQLite file needs, one level at a time from the deepest existing one.
 * Not `mkdirSync(…, { recursive: true })`: under a pseudo-filesystem (`--db sqlite:/proc/x/tally.db`) that
 * loops forever at full CPU (Node 20); one level at a time gets ENOENT. A path that cannot hold the file is
 * a bad `--db`, reported as such (config_invalid), not as a storage failure.
 */
function createParentDirectory(file: string): void {
  const missing: string[] = []
  let dir = dirname(file)
  while (!existsSync(dir)) {
    missing.push(dir)
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  try {
    if (existsSync(dir) && !statSync(dir).isDirectory()) {
      throw Object.assign(new Error(`ENOTDIR: ${dir} is not a directory`), { code: 'ENOTDIR' })
    }
    for (const d of missing.reverse()) {
      try {
        mkdirSync(d)
      } catch (err) {
        // Another process starting at the same time made it first: fine.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(d).isDirectory()) throw err
      }
    }
  } catch (err) {
    throw new AppError(
      'config_invalid',
      `Invalid configuration: cannot create the directory for the SQLite file ${file} (${(err as Error).message})`,
      { cause: err },
    )
  }
}
