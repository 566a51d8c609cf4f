import { createHash } from 'node:crypto'
import { AppError } from '../errors/app-error.js'
import type { EventQuery } from '../schema/event-query.js'

/** Where a page ended: the sort key of its last row. */
export interface CursorPosition {
  /** Sort time, epoch ms. */
  readonly t: number
  /** Tie-breaker: the row id. */
  readonly id: string
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/

function canonical(value: unknown): string {
  if (Array.isArray(value)) return '[' + value.map(canonical).join(',') + ']'
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return '{' + entries.map(([k, v]) => JSON.stringify(k) + ':' + canonical(v)).join(',') + '}'
  }
  return JSON.stringify(value)
}

/**
 * A short hash of everything that decides a query's result set and order (filters and `order`; not `limit`
 * or `cursor`). A cursor carries it, so a cursor replayed against a different query is refused.
 */
export function queryFingerprint(scope: string, query: object): string {
  const { cursor: _c, limit: _l, ...rest } = query as EventQuery
  const order = (rest as EventQuery).order ?? 'desc'
  return createHash('sha256')
    .update(scope + '\0' + canonical({ ...rest, order }))
    .digest('base64url')
    .slice(0, 16)
}

/** An opaque cursor: base64url of `[t, id, fingerprint]`. */
export function encodeCursor(position: CursorPosition, fingerprint: string): string {
  return Buffer.from(JSON.stringify([position.t, position.id, fingerprint])).toString('base64url')
}

/** Reads a cursor back; throws AppError('invalid_cursor') when it is malformed or for another query. */
const MIN_CURSOR_TIME = Date.parse('0000-01-01T00:00:00.000Z')
const MAX_CURSOR_TIME = Date.parse('9999-12-31T23:59:59.999Z')

export function decodeCursor(cursor: string, fingerprint: string): CursorPosition {
  let parsed: unknown
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url')
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch (cause) {
    throw new AppError('invalid_cursor', 'The cursor is malformed', { cause })
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    !Number.isSafeInteger(parsed[0]) ||
    // A time no stored event can have (years 0000–9999): PostgreSQL refused a hand-made one as a bad value.
    parsed[0] < MIN_CURSOR_TIME ||
    parsed[0] > MAX_CURSOR_TIME ||
    typeof parsed[1] !== 'string' ||
    !ID_PATTERN.test(parsed[1]) ||
    typeof parsed[2] !== 'string'
  ) {
    throw new AppError('invalid_cursor', 'The cursor is malformed')
  }
  if (parsed[2] !== fingerprint) {
    throw new AppError('invalid_cursor', 'The cursor was issued for a different query')
  }
  return { t: parsed[0], id: parsed[1] }
}
