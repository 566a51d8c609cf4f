import { createHash } from 'node:crypto'
import type { Transaction } from 'kysely'
import type { Database } from './database.js'
import type { StoreDialect } from './dialect.js'
import { type EncodedBatch, EVENT_COLUMNS, FAILED_COLUMNS, ROW_PROJECT_ID } from './event-rows.js'

/*
 * GDPR erasures, remembered (migration 0009), so that events of an erased person accepted before the
 * erasure but written after it — a scale-out worker's backlog, a group commit in flight — are never
 * written (insert-batch.ts asks `erasedInBatch` in every group commit; erasure-fence.ts closes the race
 * with a commit already under way on PostgreSQL).
 */

type Tx = Transaction<Database>

/**
 * How an erased person's id is remembered (`erasures`, migration 0009): SHA-256 of the project and the id,
 * hex. The list of erasures must not itself keep who was erased.
 */
export function erasureDigest(projectId: string, id: string): string {
  return createHash('sha256').update(`erasure\u0000${projectId}\u0000${id}`).digest('hex')
}

const ROW_USER_ID = EVENT_COLUMNS.indexOf('user_id')
const ROW_ANONYMOUS_ID = EVENT_COLUMNS.indexOf('anonymous_id')
const ROW_RECEIVED_AT = EVENT_COLUMNS.indexOf('received_at')
const FAILED_PROJECT_ID = FAILED_COLUMNS.indexOf('project_id')
const FAILED_RECEIVED_AT = FAILED_COLUMNS.indexOf('received_at')
const FAILED_PAYLOAD = FAILED_COLUMNS.indexOf('payload')

/** The projects a group commit writes to. */
export function projectsOf(batch: EncodedBatch): Set<string> {
  const projects = new Set<string>()
  for (const row of batch.events) projects.add(row[ROW_PROJECT_ID] as string)
  for (const row of batch.failed) projects.add(row[FAILED_PROJECT_ID] as string)
  return projects
}

/**
 * How far an event's receive time may run after an erasure and still count as before it: `received_at`
 * is the ingest node's clock, `erased_at` the database's, and servers' clocks disagree (a trial: a node 2
 * minutes fast kept an event sent before the erasure). So events of an erased person received up to this
 * long after the erasure are dropped too.
 */
export const ERASURE_CLOCK_MARGIN_MS = 10 * 60_000

interface Erasure {
  projectId: string
  userId: string | null
  anonymousId: string | null
  erasedAtMs: number
}

/**
 * The rows of `batch` (by position) whose person was erased after the row was received: accepted before a
 * GDPR erasure, written after it (a scale-out worker's backlog, a group commit in flight). Null when no
 * erasure is that recent — one index probe per commit (migration 0009).
 */
export async function erasedInBatch(
  trx: Tx,
  dialect: StoreDialect,
  batch: EncodedBatch,
): Promise<{ events: Set<number>; failed: Set<number> } | null> {
  // Epoch ms of a time value as encoded (SQLite: a number; PostgreSQL: a Date), cheaply: this runs for
  // every row of every commit.
  const msOf = (v: unknown) =>
    typeof v === 'number' ? v : v instanceof Date ? v.getTime() : Date.parse(dialect.fromDbTime(v))
  let oldest = Number.POSITIVE_INFINITY
  for (const row of batch.events) oldest = Math.min(oldest, msOf(row[ROW_RECEIVED_AT]))
  for (const row of batch.failed) oldest = Math.min(oldest, msOf(row[FAILED_RECEIVED_AT]))
  const projects = projectsOf(batch)
  if (projects.size === 0 || !Number.isFinite(oldest)) return null
  const found = await trx
    .selectFrom('erasures')
    .select(['project_id', 'user_id', 'anonymous_id', 'erased_at'])
    .where('project_id', 'in', [...projects])
    .where('erased_at', '>=', dialect.toDbTime(oldest - ERASURE_CLOCK_MARGIN_MS))
    .execute()
  if (found.length === 0) return null
  const erasures: Erasure[] = found.map((e) => ({
    projectId: e.project_id,
    userId: e.user_id,
    anonymousId: e.anonymous_id,
    erasedAtMs: msOf(e.erased_at),
  }))
  const digest = (projectId: string, id: unknown) =>
    id == null ? null : erasureDigest(projectId, String(id))
  const erasedPerson = (projectId: string, userId: unknown, anonymousId: unknown, receivedMs: number) => {
    const candidates = erasures.filter(
      (e) => e.projectId === projectId && receivedMs <= e.erasedAtMs + ERASURE_CLOCK_MARGIN_MS,
    )
    if (candidates.length === 0) return false
    const user = digest(projectId, userId)
    const anonymous = digest(projectId, anonymousId)
    return candidates.some(
      (e) =>
        (e.userId !== null && e.userId === user) || (e.anonymousId !== null && e.anonymousId === anonymous),
    )
  }
  const events = new Set<number>()
  batch.events.forEach((row, i) => {
    const receivedMs = msOf(row[ROW_RECEIVED_AT])
    if (erasedPerson(row[ROW_PROJECT_ID] as string, row[ROW_USER_ID], row[ROW_ANONYMOUS_ID], receivedMs))
      events.add(i)
  })
  const failed = new Set<number>()
  batch.failed.forEach((row, i) => {
    const raw = row[FAILED_PAYLOAD]
    let payload: unknown = raw
    if (typeof raw === 'string') {
      try {
        payload = JSON.parse(raw)
      } catch {
        return
      }
    }
    if (payload === null || typeof payload !== 'object') return
    const { userId, anonymousId } = payload as { userId?: unknown; anonymousId?: unknown }
    if (erasedPerson(row[FAILED_PROJECT_ID] as string, userId, anonymousId, msOf(row[FAILED_RECEIVED_AT])))
      failed.add(i)
  })
  return { events, failed }
}
