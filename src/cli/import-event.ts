import { createHash } from 'node:crypto'

/**
 * How `tally import` turns an input line into what it hands the ingest pipeline — shared with
 * `tally validate --enrich`, which prints what import would store.
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
