import { createHash } from 'node:crypto'
import type { AnalyticsEvent } from '../schema/analytics-event.js'
import type { InsertOutcome, NewFailedEvent } from '../store/event-store.js'
import type { KyselyEventStore } from '../store/kysely-event-store.js'

/**
 * How `tally import` turns an input line into what it hands the ingest pipeline — shared with
 * `tally validate --enrich`, which prints what import would store — and keeps what it rejects once.
 */

/** The messageId an event without one is imported under: stable across runs of the same text. */
export function derivedMessageId(text: string): string {
  return `import-${createHash('sha256').update(text).digest('hex').slice(0, 40)}`
}

/**
 * The event import ingests for the JSON `event` parsed from `text`: an object without a `messageId` gets
 * `derivedMessageId(text)`, unless `deriveIds` is false (`--fresh-ids`: the pipeline assigns one, the
 * event id). Anything else is returned as it is, for the validator to refuse.
 */
export function importedEvent(event: unknown, text: string, deriveIds: boolean): unknown {
  if (!deriveIds || typeof event !== 'object' || event === null || Array.isArray(event)) return event
  if ((event as { messageId?: unknown }).messageId !== undefined) return event
  return { ...(event as object), messageId: derivedMessageId(text) }
}

/**
 * The id a rejected event is kept under in the failed-event store on import: a name-based UUID (version
 * 8, RFC 9562) from SHA-256 of the project and the kept payload, so importing the same file again finds
 * it there instead of keeping a second copy. The payload carries the messageId import derived from the
 * line's text, so the same line gives the same id on every run.
 */
export function importFailedEventId(projectId: string, payload: unknown): string {
  const h = createHash('sha256')
    .update(`${projectId}\u0000${JSON.stringify(payload) ?? ''}`)
    .digest('hex')
  const variant = ((Number.parseInt(h[16], 16) & 0x3) | 0x8).toString(16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** Ids checked per query (well under every dialect's bound-parameter limit). */
const ID_CHUNK = 500

/**
 * An EventService `sink` for import: writes as `store.insertBatch` does, but keeps each rejected event under
 * `importFailedEventId` and leaves out those the failed-event store holds already (and repeats within the
 * commit), counting them in `counter.keptAlready`. Group commits reach the sink one at a time (the
 * EventService default of one write in flight), so a lookup is not raced by this import's own writes.
 */
export function keepFailedOnce(
  store: KyselyEventStore,
  counter: { keptAlready: number },
): (events: readonly AnalyticsEvent[], failed: readonly NewFailedEvent[]) => Promise<InsertOutcome[]> {
  return async (events, failed) => {
    if (failed.length === 0) return store.insertBatch(events, failed)
    const byId = new Map<string, NewFailedEvent>()
    for (const f of failed) {
      const id = importFailedEventId(f.projectId, f.payload)
      if (!byId.has(id)) byId.set(id, { ...f, id })
    }
    const ids = [...byId.keys()]
    for (let i = 0; i < ids.length; i += ID_CHUNK) {
      const rows = await store.db
        .selectFrom('failed_events')
        .select('id')
        .where('id', 'in', ids.slice(i, i + ID_CHUNK))
        .execute()
      for (const row of rows) byId.delete(row.id)
    }
    counter.keptAlready += failed.length - byId.size
    return store.insertBatch(events, [...byId.values()])
  }
}
