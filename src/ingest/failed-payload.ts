import { createHash } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'
import { ipAsStored } from '../enrich/ip.js'
import type { ValidationIssue } from '../schema/validation-issue.js'
import { isStorableText, toStorableText } from '../validate/storable-text.js'

/** Deepest nesting a kept failed payload may have; deeper values are replaced by a marker. */
export const MAX_KEPT_DEPTH = 64
/** What replaces a value nested deeper than MAX_KEPT_DEPTH. */
export const TRUNCATED_MARKER = '[tally: nested too deep, truncated]'

/**
 * Makes a rejected event's payload safe to keep: a copy whose nesting is cut at `MAX_KEPT_DEPTH` and whose
 * keys and strings hold no NUL or lone surrogate (each written as its escape text, `\u0000`; see
 * `toStorableText`).
 *
 * Why: the failed-event store keeps every rejected payload, in the same group commit as other callers'
 * events. A hostile one nested so deep that `JSON.stringify` overflows the stack, or holding text
 * PostgreSQL's `jsonb` refuses, would fail the whole commit and take those events down with it. Payloads
 * with neither (every event the validator did not refuse for them) are returned as they are, uncopied.
 */
export function keepablePayload(payload: unknown): unknown {
  if (!needsCopy(payload, MAX_KEPT_DEPTH)) return payload
  return copyKeepable(payload, MAX_KEPT_DEPTH)
}

/**
 * The issue recorded with a failed event whose payload `keepablePayload` had to change. The kept text is no
 * longer what was sent (`\u0000` as six characters passes validation), so a replay would store altered
 * data as if it were the event: a replay leaves such an event failing (a trial saw it stored, changed,
 * with no violation).
 */
export const PAYLOAD_ALTERED: ValidationIssue = Object.freeze({
  path: '',
  code: 'payload_altered',
  message:
    'the payload could not be kept as sent (NUL or lone surrogates written as escape text, or nesting cut); it cannot be replayed',
})

/** Top-level fields an oversized payload keeps: who and what, so it can still be found and erased. */
const OVERSIZED_KEPT_FIELDS = [
  'type',
  'name',
  'event',
  'messageId',
  'userId',
  'anonymousId',
  'timestamp',
  'sentAt',
]
const OVERSIZED_MARKER = '[tally: not kept]'

/**
 * What is kept of an event refused as larger than the per-event limit: its top-level ids and names
 * (strings cut at 256 characters), and a note — not the payload itself. Kept whole, a 1.5 MB event
 * exceeded the scale-out stream's message limit and the whole request answered 503 to every retry (a
 * trial); it also filled the failed-event store with data no replay can accept.
 */
export function oversizedPayloadStub(payload: unknown): Record<string, unknown> {
  const stub: Record<string, unknown> = {
    [OVERSIZED_MARKER]: 'larger than the per-event limit; only its top-level ids and names are kept',
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return stub
  for (const field of OVERSIZED_KEPT_FIELDS) {
    const value = (payload as Record<string, unknown>)[field]
    if (typeof value === 'string') stub[field] = toStorableText(value.slice(0, 256))
    else if (typeof value === 'number' && Number.isFinite(value)) stub[field] = value
  }
  return stub
}

/** Whether a failed event's payload was changed to be kept (see PAYLOAD_ALTERED). */
export function wasAltered(errors: readonly ValidationIssue[]): boolean {
  return errors.some((e) => e.code === 'payload_altered')
}

function needsCopy(value: unknown, limit: number): boolean {
  // Iterative, so the check itself cannot overflow the stack.
  const stack: [unknown, number][] = [[value, 1]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (typeof v === 'string') {
      if (!isStorableText(v)) return true
      continue
    }
    if (typeof v !== 'object' || v === null) continue
    if (depth > limit) return true
    for (const [key, child] of Object.entries(v)) {
      if (!isStorableText(key)) return true
      stack.push([child, depth + 1])
    }
  }
  return false
}

function copyKeepable(value: unknown, remaining: number): unknown {
  if (typeof value === 'string') return toStorableText(value)
  if (typeof value !== 'object' || value === null) return value
  if (remaining === 0) return TRUNCATED_MARKER
  if (Array.isArray(value)) return value.map((v) => copyKeepable(v, remaining - 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    // defineProperty: a `__proto__` key stays an own data property, never a prototype change.
    Object.defineProperty(out, toStorableText(k), {
      value: copyKeepable(v, remaining - 1),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}

/**
 * The client's messageId in a payload, as the event store keys it (a number as its text); null when there is
 * none that identifies anything — an empty or blank one is itself why such events are refused.
 */
export function clientMessageId(payload: unknown): string | null {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return null
  const messageId = (payload as Record<string, unknown>).messageId
  if (typeof messageId === 'number') return String(messageId)
  return typeof messageId === 'string' && messageId.trim() !== '' ? messageId : null
}

/**
 * The id a rejected event is kept under. With a `messageId` (the client's idempotency key), the same id
 * for every re-send of that message to this project — a UUIDv8 from SHA-256 of both — so the failed-event
 * store keeps it once (the insert ignores a known id) as the event store does; retried batches had kept
 * each rejected event again. Without one, a fresh time-ordered UUIDv7.
 */
export function failedEventId(projectId: string, payload: unknown): string {
  const messageId = clientMessageId(payload)
  if (messageId === null) return uuidv7()
  const h = createHash('sha256').update(`failed\u0000${projectId}\u0000${messageId}`).digest('hex')
  // RFC 9562 layout: version 8 (custom), variant 10.
  const variant = ((Number.parseInt(h[16], 16) & 0x3) | 0x8).toString(16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/**
 * The payload with `context.ip` as the event store would keep it (anonymised unless the project stores raw
 * IPs): a rejected event kept its client's raw address in the failed-event store, against "anonymised
 * before anything is stored". A copy where it changes; a value that is no IP address stays as sent.
 */
export function withStoredIp(payload: unknown, storeRawIp: boolean): unknown {
  if (storeRawIp || payload === null || typeof payload !== 'object' || Array.isArray(payload)) return payload
  const context = (payload as { context?: unknown }).context
  if (context === null || typeof context !== 'object' || Array.isArray(context)) return payload
  const ip = (context as { ip?: unknown }).ip
  if (typeof ip !== 'string') return payload
  const stored = ipAsStored(ip, false)
  if (stored === null || stored === ip) return payload
  // Spreads define own properties (never a `__proto__` setter), so hostile keys stay inert.
  return { ...(payload as object), context: { ...(context as object), ip: stored } }
}
