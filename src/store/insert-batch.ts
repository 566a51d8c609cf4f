import type { Kysely, Transaction } from 'kysely'
import type { Database } from './database.js'
import type { StoreDialect } from './dialect.js'
import { enterWriteFence } from './erasure-fence.js'
import { erasedInBatch, projectsOf } from './erasures.js'
import {
  chunkForParams,
  type EncodedBatch,
  EVENT_COLUMNS,
  FAILED_COLUMNS,
  ROW_ID,
  ROW_MESSAGE_ID,
  ROW_PROJECT_ID,
} from './event-rows.js'
import type { InsertOutcome } from './event-store.js'

const DEDUPE_COLUMNS = ['project_id', 'message_id', 'event_id'] as const
const keyOf = (row: readonly unknown[]) => `${row[ROW_PROJECT_ID]}\u0000${row[ROW_MESSAGE_ID]}`

type Tx = Transaction<Database>
type Row = unknown[]

/**
 * The group commit, inside `trx`: stores each new `(project, messageId)` once (the first occurrence in the
 * batch wins; the database arbitrates against earlier batches and concurrent writers), reports the others
 * as duplicates with the stored event's id, keeps the failed events and, through `afterInsert`, updates
 * the rollups with the positions (in `batch.events`) of the events stored.
 */
export async function insertBatchInTransaction(
  trx: Tx,
  dialect: StoreDialect,
  batch: EncodedBatch,
  afterInsert?: (acceptedIndexes: number[]) => Promise<void>,
): Promise<InsertOutcome[]> {
  const rows = batch.events
  await enterWriteFence(trx, dialect, projectsOf(batch))
  const erased = await erasedInBatch(trx, dialect, batch)
  const keys = rows.map(keyOf)
  const firstIndex = new Map<string, number>()
  const candidates: number[] = []
  for (let i = 0; i < rows.length; i++) {
    if (erased?.events.has(i)) continue
    if (!firstIndex.has(keys[i])) {
      firstIndex.set(keys[i], i)
      candidates.push(i)
    }
  }

  const insert = dialect.capabilities.dedupeOnEvents ? insertArbitratedByEvents : claimKeysThenInsert
  const won = await insert(trx, dialect, rows, keys, candidates)
  const accepted = candidates.filter((i) => won.has(keys[i]))
  const storedIds = await idsStoredBefore(
    trx,
    dialect,
    candidates.filter((i) => !won.has(keys[i])).map((i) => rows[i]),
  )

  const outcomes: InsertOutcome[] = new Array(rows.length)
  for (let i = 0; i < rows.length; i++) {
    if (erased?.events.has(i)) {
      // Received before an erasure of its person, written after it: never written, and said so (it was
      // answered `accepted` with an id that then named nothing).
      outcomes[i] = { status: 'dropped', id: rows[i][ROW_ID] as string }
      continue
    }
    const key = keys[i]
    const first = firstIndex.get(key)!
    if (won.has(key))
      outcomes[i] = { status: first === i ? 'accepted' : 'duplicate', id: rows[first][ROW_ID] as string }
    else outcomes[i] = { status: 'duplicate', id: storedIds.get(key) ?? (rows[i][ROW_ID] as string) }
  }

  // A failed event already kept under its id (ids come from the messageId) is kept once, as the latest
  // version sent: a retry rewrites it with what it was anyway, and a re-send the client changed (still
  // invalid) replaces it. Kept first-only, the later version was answered `rejected` and never kept — a
  // 32 KB event kept as a stub, re-sent small, could then never be replayed.
  const failed = erased ? batch.failed.filter((_, i) => !erased.failed.has(i)) : batch.failed
  if (failed.length > 0) {
    const inserted = await dialect.insertIgnoringConflicts(
      trx,
      'failed_events',
      FAILED_COLUMNS,
      ['id'],
      failed,
    )
    // In id order, as a replay marks the ones still failing: no two transactions lock them in opposite
    // orders (they deadlocked on PostgreSQL: a re-check trial).
    const replaced = failed.filter((_, i) => !inserted[i])
    const idOf = (row: readonly unknown[]) => row[FAILED_ID] as string
    replaced.sort((a, b) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0))
    for (const row of replaced) await replaceFailedEvent(trx, row)
  }

  if (afterInsert && accepted.length > 0) await afterInsert(accepted)
  return outcomes
}

const FAILED_ID = FAILED_COLUMNS.indexOf('id')
const FAILED_PROJECT = FAILED_COLUMNS.indexOf('project_id')
/** What a newer version of a kept failed event replaces; its replay state and attempts stay. */
const FAILED_REPLACED = ['received_at', 'payload', 'errors', 'client_ip', 'user_agent'] as const
const FAILED_REPLACED_AT = FAILED_REPLACED.map((c) => FAILED_COLUMNS.indexOf(c))

/**
 * Replaces a kept failed event's payload and errors with a newer version's (same id), unless a replay is
 * storing it right now (it then stores, and removes, the version it read).
 */
async function replaceFailedEvent(trx: Tx, row: readonly unknown[]): Promise<void> {
  const values = Object.fromEntries(FAILED_REPLACED.map((c, i) => [c, row[FAILED_REPLACED_AT[i]]]))
  await trx
    .updateTable('failed_events')
    .set(values as never)
    .where('id', '=', row[FAILED_ID] as string)
    .where('project_id', '=', row[FAILED_PROJECT] as string)
    .where('replay_state', '<>', 'replaying')
    .execute()
}

/**
 * SQLite (one writer at a time): each event goes straight into `events` with `ON CONFLICT (project_id,
 * message_id) DO NOTHING`, the unique index arbitrating; in arrival order, so the time-ordered indexes
 * append. Returns the keys stored.
 */
async function insertArbitratedByEvents(
  trx: Tx,
  dialect: StoreDialect,
  rows: readonly Row[],
  keys: readonly string[],
  candidates: readonly number[],
): Promise<Set<string>> {
  const inserted = await dialect.insertIgnoringConflicts(
    trx,
    'events',
    EVENT_COLUMNS,
    ['project_id', 'message_id'],
    candidates.map((i) => rows[i]),
  )
  return new Set(candidates.filter((_, k) => inserted[k]).map((i) => keys[i]))
}

/**
 * PostgreSQL: claims the keys in `event_dedupe` with `INSERT … ON CONFLICT DO NOTHING` (race-free under
 * concurrent writers: it waits for the other transaction, then reports the conflict), then inserts the
 * events that won. Keys are claimed in one global order, so two concurrent group commits sharing messageIds
 * wait for each other instead of deadlocking on each other's dedupe rows. Returns the keys stored.
 */
async function claimKeysThenInsert(
  trx: Tx,
  dialect: StoreDialect,
  rows: readonly Row[],
  keys: readonly string[],
  candidates: readonly number[],
): Promise<Set<string>> {
  const ordered = [...candidates].sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0))
  const claimed = await dialect.insertIgnoringConflicts(
    trx,
    'event_dedupe',
    DEDUPE_COLUMNS,
    ['project_id', 'message_id'],
    ordered.map((i) => [rows[i][ROW_PROJECT_ID], rows[i][ROW_MESSAGE_ID], rows[i][ROW_ID]]),
  )
  const won = new Set(ordered.filter((_, k) => claimed[k]).map((i) => keys[i]))
  await dialect.insertRows(
    trx,
    'events',
    EVENT_COLUMNS,
    candidates.filter((i) => won.has(keys[i])).map((i) => rows[i]),
  )
  return won
}

/** The ids of the events earlier batches stored under these rows' keys, by key. */
async function idsStoredBefore(
  trx: Tx,
  dialect: StoreDialect,
  lost: readonly Row[],
): Promise<Map<string, string>> {
  const byProject = new Map<string, string[]>()
  for (const row of lost) {
    const projectId = row[ROW_PROJECT_ID] as string
    const ids = byProject.get(projectId)
    if (ids === undefined) byProject.set(projectId, [row[ROW_MESSAGE_ID] as string])
    else ids.push(row[ROW_MESSAGE_ID] as string)
  }
  const stored = new Map<string, string>()
  for (const [projectId, messageIds] of byProject) {
    for (const [messageId, eventId] of await storedEventIds(trx, dialect, projectId, messageIds))
      stored.set(`${projectId}\u0000${messageId}`, eventId)
  }
  return stored
}

/** The ids of the events a project stored under these client messageIds, by messageId (absent: none). */
export async function storedEventIds(
  db: Kysely<Database>,
  dialect: StoreDialect,
  projectId: string,
  messageIds: readonly string[],
): Promise<Map<string, string>> {
  const stored = new Map<string, string>()
  for (const chunk of chunkForParams([...new Set(messageIds)], 1, dialect.capabilities.maxBindParams - 1)) {
    const found = dialect.capabilities.dedupeOnEvents
      ? await db
          .selectFrom('events')
          .select(['message_id', 'id as event_id'])
          .where('project_id', '=', projectId)
          .where('message_id', 'in', chunk)
          .execute()
      : await db
          .selectFrom('event_dedupe')
          .select(['message_id', 'event_id'])
          .where('project_id', '=', projectId)
          .where('message_id', 'in', chunk)
          .execute()
    for (const r of found) stored.set(r.message_id, r.event_id)
  }
  return stored
}
