import type { Transaction } from 'kysely'
import type { AnalyticsEvent } from '../schema/analytics-event.js'
import type { Database } from './database.js'
import type { StoreDialect } from './dialect.js'
import { chunkForParams, EVENT_COLUMNS, toEventRow, toFailedRow } from './event-rows.js'
import type { InsertOutcome, NewFailedEvent } from './event-store.js'
import type { RollupWriter } from './rollup-writer.js'

const DEDUPE_COLUMNS = ['project_id', 'message_id', 'event_id'] as const
const FAILED_COLUMNS = [
  'id',
  'project_id',
  'received_at',
  'payload',
  'errors',
  'replay_state',
  'replay_attempts',
  'last_replay_at',
  'replayed_event_id',
] as const
const keyOf = (projectId: string, messageId: string) => `${projectId}\u0000${messageId}`

/**
 * The group commit, inside `trx`: claims each new `(project, messageId)` in `event_dedupe` with
 * `INSERT … ON CONFLICT DO NOTHING RETURNING` (race-free under concurrent writers: PostgreSQL waits for the
 * other transaction and then reports the conflict), inserts the events that won, looks up the ids of the
 * duplicates, keeps the failed events and updates the rollups.
 */
export async function insertBatchInTransaction(
  trx: Transaction<Database>,
  dialect: StoreDialect,
  events: readonly AnalyticsEvent[],
  failed: readonly NewFailedEvent[],
  writeRollups: RollupWriter | undefined,
): Promise<InsertOutcome[]> {
  const max = dialect.capabilities.maxBindParams
  const outcomes: InsertOutcome[] = new Array(events.length)

  // Duplicates inside the batch: the first occurrence wins, later ones point at it.
  const firstIndex = new Map<string, number>()
  const candidates: AnalyticsEvent[] = []
  events.forEach((e, i) => {
    const key = keyOf(e.projectId, e.messageId)
    if (!firstIndex.has(key)) {
      firstIndex.set(key, i)
      candidates.push(e)
    }
  })

  // Keys are claimed in one global order, so two concurrent group commits (PostgreSQL, writeConcurrency > 1)
  // sharing messageIds wait for each other instead of deadlocking on each other's dedupe rows.
  const ordered = candidates
    .map((e) => ({ e, key: keyOf(e.projectId, e.messageId) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  const claimed = await dialect.insertIgnoringConflicts(
    trx,
    'event_dedupe',
    DEDUPE_COLUMNS,
    ['project_id', 'message_id'],
    ordered.map(({ e }) => [e.projectId, e.messageId, e.id]),
  )
  const won = new Set<string>()
  ordered.forEach(({ key }, i) => {
    if (claimed[i]) won.add(key)
  })

  const accepted = candidates.filter((e) => won.has(keyOf(e.projectId, e.messageId)))
  await dialect.insertRows(
    trx,
    'events',
    EVENT_COLUMNS,
    accepted.map((e) => {
      const row = toEventRow(dialect, e) as Record<string, unknown>
      return EVENT_COLUMNS.map((c) => row[c])
    }),
  )

  // Ids of events stored by earlier batches, per project.
  const existing = new Map<string, string>()
  const lost = candidates.filter((e) => !won.has(keyOf(e.projectId, e.messageId)))
  const byProject = new Map<string, string[]>()
  for (const e of lost) byProject.set(e.projectId, [...(byProject.get(e.projectId) ?? []), e.messageId])
  for (const [projectId, messageIds] of byProject) {
    for (const chunk of chunkForParams(messageIds, 1, max - 1)) {
      const rows = await trx
        .selectFrom('event_dedupe')
        .select(['message_id', 'event_id'])
        .where('project_id', '=', projectId)
        .where('message_id', 'in', chunk)
        .execute()
      for (const r of rows) existing.set(keyOf(projectId, r.message_id), r.event_id)
    }
  }

  events.forEach((e, i) => {
    const key = keyOf(e.projectId, e.messageId)
    if (won.has(key) && firstIndex.get(key) === i) outcomes[i] = { status: 'accepted', id: e.id }
    else if (won.has(key)) outcomes[i] = { status: 'duplicate', id: events[firstIndex.get(key)!].id }
    else outcomes[i] = { status: 'duplicate', id: existing.get(key) ?? e.id }
  })

  await dialect.insertRows(
    trx,
    'failed_events',
    FAILED_COLUMNS,
    failed.map((f) => {
      const row = toFailedRow(dialect, f) as Record<string, unknown>
      return FAILED_COLUMNS.map((c) => row[c])
    }),
  )

  if (writeRollups && accepted.length > 0) await writeRollups(trx, dialect, accepted)
  return outcomes
}
