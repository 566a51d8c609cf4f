import { type Kysely, sql } from 'kysely'
import type { Database } from './database.js'
import type { StoreDialect } from './dialect.js'

/**
 * The database server's clock, epoch milliseconds. Leases (processing claims, replay claims) are written
 * and compared in this time, not each server's `Date.now()`: with servers whose clocks disagree, one saw
 * another's lease as expired and two consumers held the same event at once (a trial, 5 s of skew).
 * On PostgreSQL inside a transaction this is the transaction's start time.
 */
export async function databaseNowMs(db: Kysely<Database>, dialect: StoreDialect): Promise<number> {
  const { rows } = await sql<{ now: unknown }>`select ${dialect.now()} as now`.execute(db)
  return Date.parse(dialect.fromDbTime(rows[0].now))
}
