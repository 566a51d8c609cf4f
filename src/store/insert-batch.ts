import type { Transaction } from 'kysely'
import type { Database } from './database.js'
import type { StoreDialect } from './dialect.js'
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

/**
 * The group commit, inside `trx`: claims each new `(project, messageId)` with `INSERT … ON CONFLICT DO
 * NOTHING` — into `event_dedupe` (PostgreSQL: race-free under concurrent writers, it waits for the other
 * transaction and then reports the conflict) and then inserts the events that won, or (SQLite, one writer)
 * straight into `events`, whose unique index arbitrates (`capabilities.dedupeOnEvents`) — looks up the ids of the
 * duplicates, keeps the failed events and, through `afterInsert`, updates the rollups with the positions
 * (in `batch.events`) of the events stored.
 */
export async function insertBatchInTransaction(
  trx: Transaction<Database>,
  dialect: StoreDialect,
  batch: EncodedBatch,
  afterInsert?: (acceptedIndexes: number[]) => Promise<void>,
): Promise<InsertOutcome[]> {
  const rows = batch.events
  const max = dialect.capabilities.maxBindParams
  const outcomes: InsertOutcome[] = new Array(rows.length)

  // Duplicates inside the batch: the first occurrence wins, later ones point at it.
  const keys = rows.map(keyOf)
  const firstIndex = new Map<string, number>()
  const candidates: number[] = []
  for (let i = 0; i < rows.length; i++) {
    if (!firstIndex.has(keys[i])) {
      firstIndex.set(keys[i], i)
      candidates.push(i)
    }
  }

  const won = new Set<string>()
  if (dialect.capabilities.dedupeOnEvents) {
    // SQLite: the unique index on events (project_id, message_id) is the arbiter; one statement per event,
    // in arrival order so the time-ordered indexes append.
    const inserted = await dialect.insertIgnoringConflicts(
      trx,
      'events',
      EVENT_COLUMNS,
      ['project_id', 'message_id'],
      candidates.map((i) => rows[i]),
    )
    candidates.forEach((i, k) => {
      if (inserted[k]) won.add(keys[i])
    })
  } else {
    // Keys are claimed in one global order, so two concurrent group commits (PostgreSQL, writeConcurrency > 1)
    // sharing messageIds wait for each other instead of deadlocking on each other's dedupe rows.
    const ordered = [...candidates].sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0))
    const claimed = await dialect.insertIgnoringConflicts(
      trx,
      'event_dedupe',
      DEDUPE_COLUMNS,
      ['project_id', 'message_id'],
      ordered.map((i) => [rows[i][ROW_PROJECT_ID], rows[i][ROW_MESSAGE_ID], rows[i][ROW_ID]]),
    )
    ordered.forEach((i, k) => {
      if (claimed[k]) won.add(keys[i])
    })
    await dialect.insertRows(
      trx,
      'events',
      EVENT_COLUMNS,
      candidates.filter((i) => won.has(keys[i])).map((i) => rows[i]),
    )
  }
  const accepted = candidates.filter((i) => won.has(keys[i]))

  // Ids of events stored by earlier batches, per project.
  const existing = new Map<string, string>()
  const byProject = new Map<string, string[]>()
  for (const i of candidates) {
    if (won.has(keys[i])) continue
    const projectId = rows[i][ROW_PROJECT_ID] as string
    const ids = byProject.get(projectId)
    if (ids === undefined) byProject.set(projectId, [rows[i][ROW_MESSAGE_ID] as string])
    else ids.push(rows[i][ROW_MESSAGE_ID] as string)
  }
  for (const [projectId, messageIds] of byProject) {
    for (const chunk of chunkForParams(messageIds, 1, max - 1)) {
      const found = dialect.capabilities.dedupeOnEvents
        ? await trx
            .selectFrom('events')
            .select(['message_id', 'id as event_id'])
            .where('project_id', '=', projectId)
            .where('message_id', 'in', chunk)
            .execute()
        : await trx
            .selectFrom('event_dedupe')
            .select(['message_id', 'event_id'])
            .where('project_id', '=', projectId)
            .where('message_id', 'in', chunk)
            .execute()
      for (const r of found) existing.set(`${projectId}\u0000${r.message_id}`, r.event_id)
    }
  }

  for (let i = 0; i < rows.length; i++) {
    const key = keys[i]
    const first = firstIndex.get(key)!
    const ownId = rows[i][ROW_ID] as string
    if (won.has(key))
      outcomes[i] = { status: first === i ? 'accepted' : 'duplicate', id: rows[first][ROW_ID] as string }
    else outcomes[i] = { status: 'duplicate', id: existing.get(key) ?? ownId }
  }

  await dialect.insertRows(trx, 'failed_events', FAILED_COLUMNS, batch.failed)

  if (afterInsert && accepted.length > 0) await afterInsert(accepted)
  return outcomes
}
