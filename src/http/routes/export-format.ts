import type { AnalyticsEvent } from '../../schema/analytics-event.js'

/** Columns of the CSV export, in order. Objects are written as JSON text. */
export const CSV_COLUMNS = [
  'id',
  'type',
  'name',
  'timestamp',
  'receivedAt',
  'userId',
  'anonymousId',
  'sessionId',
  'groupId',
  'messageId',
  'status',
  'properties',
  'traits',
  'context',
] as const satisfies readonly (keyof AnalyticsEvent)[]

/** Lines per chunk pushed to the socket: fewer, larger writes. */
const LINES_PER_CHUNK = 200

/** One event per line. */
export async function* eventsToNdjson(events: AsyncIterable<AnalyticsEvent>): AsyncGenerator<string> {
  let chunk = ''
  let lines = 0
  for await (const event of events) {
    chunk += `${JSON.stringify(event)}\n`
    if (++lines === LINES_PER_CHUNK) {
      yield chunk
      chunk = ''
      lines = 0
    }
  }
  if (chunk) yield chunk
}

/**
 * RFC 4180 CSV with a header row. A cell starting with `= + - @` (or a tab/CR) is prefixed with `'` so a
 * spreadsheet never runs an event's text as a formula (CSV injection); a cell holding `;` or a tab is
 * quoted, so a spreadsheet splitting on those cannot make a formula's start of the rest.
 */
export async function* eventsToCsv(events: AsyncIterable<AnalyticsEvent>): AsyncGenerator<string> {
  let chunk = `${CSV_COLUMNS.join(',')}\r\n`
  let lines = 0
  for await (const event of events) {
    chunk += `${CSV_COLUMNS.map((c) => csvCell(event[c])).join(',')}\r\n`
    if (++lines === LINES_PER_CHUNK) {
      yield chunk
      chunk = ''
      lines = 0
    }
  }
  if (chunk) yield chunk
}

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return ''
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value)
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`
  // Quoted also when holding `;` or a tab: a spreadsheet whose list separator is `;` (most of Europe) split
  // `a;=HYPERLINK(…)` at the `;` and ran the second part as a formula. Inside quotes it stays one cell.
  return /[",;\t\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}
