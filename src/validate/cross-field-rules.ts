import type { EventCreate } from '../schema/event-create.js'
import { MAX_NAME_LENGTH } from '../schema/primitives.js'
import type { IssueList } from './issue-list.js'

/** Fields that hold identifiers: a string, or an integer within the safe range. */
export const IDENTIFIER_FIELDS = [
  'messageId',
  'userId',
  'anonymousId',
  'sessionId',
  'groupId',
  'previousId',
] as const

function isPresent(v: unknown): boolean {
  return v !== undefined && v !== null
}

/**
 * Rules JSON Schema expresses badly, checked after the hostile-input walk on a plain object:
 * - at least one of `userId` / `anonymousId` (`missing_identity` at `""`); `alias` needs `userId`
 *   (`missing_identity` at `/userId`), since it names the identity `previousId` is merged into;
 * - integer ids beyond ±(2^53−1) lost precision when parsed (`invalid_number`): the id the client meant
 *   cannot be known, so it is refused rather than stored wrong.
 */
export function checkCrossFieldRules(event: Record<string, unknown>, issues: IssueList): void {
  checkIdentity(event, issues)
  checkIdentifierRange(event, issues)
}

/** The identity rule alone: all an event that passed the schema still needs (its ids are in range). */
export function checkIdentity(event: Record<string, unknown>, issues: IssueList): void {
  const hasUser = isPresent(event.userId)
  if (event.type === 'alias') {
    if (!hasUser)
      issues.add(
        '/userId',
        'missing_identity',
        'an alias event needs userId (the identity previousId is merged into)',
        'userId',
      )
  } else if (!hasUser && !isPresent(event.anonymousId)) {
    issues.add(
      '',
      'missing_identity',
      'at least one of userId or anonymousId is required',
      'userId or anonymousId',
    )
  }
}

/** Integer ids beyond the safe range (the schema reports them too; this gives the precise code). */
export function checkIdentifierRange(event: Record<string, unknown>, issues: IssueList): void {
  for (const field of IDENTIFIER_FIELDS) {
    const v = event[field]
    if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) {
      issues.add(
        `/${field}`,
        'invalid_number',
        `${field} ${v} is beyond the safe integer range and lost precision when parsed; send it as a string`,
        `an integer within ±${Number.MAX_SAFE_INTEGER}, or a string`,
      )
    }
  }
}

/**
 * Fills what the model derives: an `api_request` without `name` is named `"METHOD route"` (cut to the
 * name limit). Returns the event itself when nothing is derived, otherwise a shallow copy — the input is
 * never changed.
 */
export function applyDerivedFields(event: EventCreate): EventCreate {
  if (event.type === 'api_request' && event.name === undefined) {
    const name = `${event.properties.method} ${event.properties.route}`.slice(0, MAX_NAME_LENGTH)
    return { ...event, name }
  }
  return event
}
