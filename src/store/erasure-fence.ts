import { type Kysely, sql, type Transaction } from 'kysely'
import { hash53 } from '../stats/sketch/hyper-log-log.js'
import type { Database } from './database.js'
import type { StoreDialect } from './dialect.js'

/** Advisory-lock class of the fence (PostgreSQL); the rollup lock uses 0x7a11. */
const FENCE_LOCK_CLASS = 0x7a12

/** The lock key of a project: the hash the rollup lock uses (a collision only makes an erasure wait longer). */
const projectKey = (projectId: string) => hash53(projectId) | 0

/**
 * Why a fence: a group commit checks for recent erasures at its start, so on PostgreSQL one that checked
 * just before an erasure was recorded and committed just after the erasure searched for the person's
 * events kept them (a trial held a commit open and the erasure answered 0). Each write transaction holds
 * its projects' fence *shared* (writers never wait for each other); an erasure, once its record is
 * committed, takes it *exclusively* for an instant — waiting for every write that may have checked before
 * the record — and only then searches. Writes that start later see the record. SQLite needs none: its
 * writes are serialised with the erasure's record by the database's single write lock.
 */
export async function enterWriteFence(
  trx: Transaction<Database>,
  dialect: StoreDialect,
  projectIds: Iterable<string>,
): Promise<void> {
  if (!dialect.capabilities.supportsConcurrentWriters) return
  // One key at a time, in one order for every writer: a writer holding one project's fence while it
  // waits for another's, behind an erasure, must never meet one that takes them the other way round.
  const keys = [...new Set([...projectIds].map(projectKey))].sort((a, b) => a - b)
  for (const key of keys) {
    await sql`select pg_advisory_xact_lock_shared(${FENCE_LOCK_CLASS}, ${key})`.execute(trx)
  }
}

/** Waits until every write transaction of `projectId` that began before now has finished (see above). */
export async function awaitWritesInFlight(
  db: Kysely<Database>,
  dialect: StoreDialect,
  projectId: string,
): Promise<void> {
  if (!dialect.capabilities.supportsConcurrentWriters) return
  await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${FENCE_LOCK_CLASS}, ${projectKey(projectId)})`.execute(trx)
  })
}
