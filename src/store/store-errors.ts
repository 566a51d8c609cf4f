import { AppError } from '../errors/app-error.js'

const RETRY_AFTER_SECONDS = 5
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EPIPE',
])
// PostgreSQL SQLSTATEs that mean "try again later": connection exceptions, shutdown, too many
// connections, serialization failure, deadlock, disk full, out of memory — and, from the caller's side,
// a database it cannot use right now: not accepting connections (55000, `ALLOW_CONNECTIONS false`), gone
// (3D000) or refusing our credentials (28000, 28P01). A user's trial got 500s for these.
// Also a lock not available (55P03): a table locked by maintenance answered 500 after the 30 s timeout.
// A statement cancelled by statement_timeout (57014) is `query_timeout` (toStoreError): still a 503 with
// Retry-After, but not "the database is unavailable" — most often the query itself is too costly.
// And a privilege revoked from Tally's user (42501): 500 without Retry-After it was, for a state an
// operator fixes with a GRANT while the server keeps running.
const PG_RETRIABLE = /^(08...|57P0[1-3]|53[0-9]{3}|40001|40P01|55000|55P03|3D000|28000|28P01|42501)$/
const SQLITE_RETRIABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|READONLY|NOMEM|PROTOCOL)/
// PostgreSQL SQLSTATE class 22, data exception: a value the request carried that the column type refuses
// (NUL in text, an escape jsonb refuses, a number out of range). The HTTP layer refuses known cases first;
// this keeps any it misses a 400 instead of a 500.
const PG_DATA_EXCEPTION = /^22[0-9A-Z]{3}$/

/** True when `err` says the database is (temporarily) unreachable or refusing work. */
export function isStoreUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || PG_RETRIABLE.test(code) || SQLITE_RETRIABLE.test(code)) return true
  }
  const message = err instanceof Error ? err.message : ''
  // `cannot rollback - no transaction is active`: SQLite already rolled the transaction back itself, which
  // it does only for SQLITE_FULL, IOERR, BUSY and NOMEM; Kysely's ROLLBACK then fails and hides that error.
  // `Query read timeout`: pg's own query_timeout (the server stopped answering; see postgres-dialect.ts).
  return /Connection terminated|connection is not open|Client has encountered a connection error|timeout exceeded when trying to connect|Query read timeout|cannot rollback - no transaction is active/i.test(
    message,
  )
}

/**
 * For the causes a retry will not cure by itself, what to check instead of the generic "retry after the
 * indicated delay" (a CLI user was told to retry a database name with a typo). Still `store_unavailable`:
 * for a running server the database may come back (re-created, permissions fixed).
 */
function unusableDatabaseMessage(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  if (code === '3D000') return 'The database does not exist; check the name in TALLY_DATABASE_URL (--db)'
  if (code === '28000' || code === '28P01')
    return 'The database refused the credentials; check the user and password in TALLY_DATABASE_URL (--db)'
  if (code === '42501')
    return "The database user lacks a privilege Tally needs (the database said: permission denied); grant it to TALLY_DATABASE_URL's user"
  if (typeof code !== 'string') return undefined
  if (code.startsWith('SQLITE_CANTOPEN'))
    return 'The SQLite file cannot be opened: its directory is missing or this user may not use it'
  if (code.startsWith('SQLITE_READONLY'))
    return 'The SQLite database is read-only for this user (permissions of the file or its directory)'
  return undefined
}

/**
 * Turns a driver error into an AppError: `store_unavailable` (503, with Retry-After) when the database is
 * down or busy, `validation_failed` (400) when PostgreSQL refused a value as data, `internal` otherwise.
 * AppErrors pass through unchanged.
 */
export function toStoreError(err: unknown): AppError {
  if (err instanceof AppError) return err
  if ((err as { code?: unknown } | null)?.code === '57014') {
    // Answered "the database is unavailable, retry" before: dashboards showed an outage, and clients re-ran
    // the same scan. (A lock held past the timeout lands here too; the message names both.)
    return new AppError(
      'query_timeout',
      'The statement ran longer than the database allows (statement_timeout, 30 s) and was cancelled: a query too costly for the data — narrow it: a shorter time range, or a filter an index serves (userId, type, name) — or, for a write, a lock held that long; retry when the database is less busy',
      { cause: err, retryAfterSeconds: RETRY_AFTER_SECONDS },
    )
  }
  if (isStoreUnavailable(err)) {
    return new AppError('store_unavailable', unusableDatabaseMessage(err), {
      cause: err,
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    })
  }
  const detail = err instanceof Error ? err.message : String(err)
  const code = (err as { code?: unknown } | null)?.code
  // A file that is not SQLite (a typo in --db naming some other file): the setting is wrong, not the store.
  if (code === 'SQLITE_NOTADB')
    return new AppError(
      'config_invalid',
      `Invalid configuration: the database file is not a SQLite database (${detail})`,
      {
        cause: err,
      },
    )
  if (typeof code === 'string' && PG_DATA_EXCEPTION.test(code))
    return new AppError('validation_failed', `The database refused a value of the request: ${detail}`, {
      cause: err,
    })
  return new AppError('internal', `Storage error: ${detail}`, { cause: err })
}

/**
 * The stale-if-error rule of the caches in front of the store (API keys, project settings): a value last
 * confirmed at `confirmedAt` may stand in for a fresh read only when the read failed because the database
 * is unavailable, and only within `windowMs` of that confirmation.
 */
export function mayServeStale(err: unknown, confirmedAt: number, now: number, windowMs: number): boolean {
  return err instanceof AppError && err.code === 'store_unavailable' && now - confirmedAt < windowMs
}
