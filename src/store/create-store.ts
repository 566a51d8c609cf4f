import type { Kysely } from 'kysely'
import { AppError } from '../errors/app-error.js'
import { catchUpRollups, resetRollupWatermark } from '../stats/rollups/catch-up-rollups.js'
import { rebuildRollups } from '../stats/rollups/rebuild-rollups.js'
import { writeRollups } from '../stats/rollups/write-rollups.js'
import type { Database } from './database.js'
import type { StoreDialect } from './dialect.js'
import { KyselyEventStore } from './kysely-event-store.js'
import { PostgresStoreDialect } from './postgres/postgres-dialect.js'
import type { RollupWriter } from './rollup-writer.js'
import { SqliteStoreDialect } from './sqlite/sqlite-dialect.js'
import type { SqliteSynchronous } from './sqlite/sqlite-dialect-config.js'
import { WorkerBatchWriter } from './sqlite/worker-batch-writer.js'

/** Options of `createStore`. */
export interface CreateStoreOptions {
  /** Apply pending migrations before returning. Default false (call `store.migrate()`). */
  readonly migrate?: boolean
  /** PostgreSQL pool size. Default 10. */
  readonly maxConnections?: number
  /** PostgreSQL: longest wait for a connection, ms (PostgresDialectConfig.connectTimeoutMs). Default 10,000. */
  readonly connectTimeoutMs?: number
  /** PostgreSQL: longest wait for a query's answer, ms (PostgresDialectConfig.queryTimeoutMs). Default 35,000. */
  readonly queryTimeoutMs?: number
  /** SQLite: how long to wait for another process's write lock, ms. Default 5,000. */
  readonly busyTimeoutMs?: number
  /**
   * Rollup maintenance inside each insert transaction. Default: the statistics stage's `writeRollups`;
   * `null` turns rollups off (benchmarks that measure the bare insert path).
   */
  readonly rollupWriter?: RollupWriter | null
  /**
   * SQLite: `full` (default, an acknowledged write survives a power loss) or `normal` (survives a process
   * crash only; commits skip the fsync). See docs/storage.md.
   */
  readonly synchronous?: SqliteSynchronous
  /**
   * SQLite files: run `insertBatch` in a worker thread with its own connection to the same file, so
   * commits and rollups use another core. Default false here (the CLI); the server turns it on
   * (TALLY_SQLITE_WRITE_WORKER). Ignored for `:memory:` (a second connection would see another database),
   * for PostgreSQL, and with a custom `rollupWriter` (a function cannot be sent to a thread).
   */
  readonly writeWorker?: boolean
  /**
   * SQLite with the default rollup writer: maintain rollups after the insert transaction, many commits at a
   * time, instead of inside it (src/stats/rollups/catch-up-rollups.ts). Default true; statistics stay exact.
   */
  readonly deferRollups?: boolean
  /** Deferred rollups: how long after a commit the catch-up runs. Default 1,000 ms. */
  readonly rollupDelayMs?: number
}

// The statistics stage's writer: rollups are maintained in the same transaction as the events.
const DEFAULT_ROLLUP_WRITER: RollupWriter = writeRollups

/**
 * Picks the dialect for a connection string: `sqlite:./data/tally.db` (a relative or absolute path; the
 * directory is created), `sqlite::memory:`, or `postgres://…` / `postgresql://…`.
 * Throws AppError('config_invalid') for anything else.
 *
 * @example
 * createDialect('sqlite:./data/tally.db').name // 'sqlite'
 */
export function createDialect(url: string, options: CreateStoreOptions = {}): StoreDialect {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new AppError('config_invalid', 'The database URL is empty')
  }
  if (url.startsWith('sqlite:')) {
    let filename = url.slice('sqlite:'.length)
    if (filename.startsWith('//')) filename = filename.slice(2) // sqlite:///abs/path and sqlite://./rel
    if (filename === '') throw new AppError('config_invalid', `No SQLite file in the database URL ${url}`)
    return new SqliteStoreDialect({
      filename,
      busyTimeoutMs: options.busyTimeoutMs,
      synchronous: options.synchronous,
    })
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch (cause) {
      throw new AppError('config_invalid', 'The PostgreSQL URL cannot be parsed', { cause })
    }
    if (parsed.hostname === '' && parsed.pathname.length <= 1) {
      throw new AppError('config_invalid', 'The PostgreSQL URL names no host and no database')
    }
    return new PostgresStoreDialect({
      connectionString: url,
      maxConnections: options.maxConnections,
      connectTimeoutMs: options.connectTimeoutMs,
      queryTimeoutMs: options.queryTimeoutMs,
    })
  }
  throw new AppError(
    'config_invalid',
    'The database URL must start with sqlite:, postgres:// or postgresql://',
    {
      details: { url: url.replace(/\/\/[^@/]*@/, '//***@') },
    },
  )
}

/**
 * Opens the event store a connection string names. See `createDialect` for the URL forms.
 *
 * @example
 * const store = await createStore('sqlite:./data/tally.db', { migrate: true })
 */
export async function createStore(url: string, options: CreateStoreOptions = {}): Promise<KyselyEventStore> {
  const dialect = createDialect(url, options)
  const rollupWriter =
    options.rollupWriter === null ? undefined : (options.rollupWriter ?? DEFAULT_ROLLUP_WRITER)
  let db: ReturnType<StoreDialect['createKysely']>
  try {
    db = dialect.createKysely()
  } catch (cause) {
    throw new AppError('config_invalid', `Cannot open the database: ${(cause as Error).message}`, { cause })
  }
  // Deletes rebuild the rollups of the hours they touched, so statistics never count erased events.
  const rollupRebuilder = rollupWriter ? rebuildRollups : undefined
  const useWorker =
    options.writeWorker === true &&
    dialect instanceof SqliteStoreDialect &&
    dialect.filename !== ':memory:' &&
    dialect.filename !== '' &&
    (options.rollupWriter === undefined || options.rollupWriter === null)
  const batchWriter = useWorker
    ? new WorkerBatchWriter(
        {
          url,
          busyTimeoutMs: options.busyTimeoutMs,
          synchronous: options.synchronous,
          rollups: rollupWriter !== undefined,
          deferRollups: options.deferRollups,
          rollupDelayMs: options.rollupDelayMs,
        },
        dialect,
      )
    : undefined
  const rollupWatermark =
    dialect.name === 'sqlite' && rollupWriter
      ? {
          catchUp: (target: Kysely<Database>) => catchUpRollups(target, dialect),
          resetWatermark: resetRollupWatermark,
          defer: options.deferRollups !== false && rollupWriter === DEFAULT_ROLLUP_WRITER,
          delayMs: options.rollupDelayMs,
        }
      : undefined
  const store = new KyselyEventStore(db, dialect, {
    rollupWriter,
    rollupRebuilder,
    batchWriter,
    rollupWatermark,
  })
  if (options.migrate) {
    try {
      await store.migrate()
    } catch (err) {
      await store.close()
      throw err
    }
  }
  return store
}
