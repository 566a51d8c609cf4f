import { AppError } from '../../errors/app-error.js'
import type { ValidationIssue } from '../../schema/validation-issue.js'
import { isIsoDateTime } from '../../validate/formats.js'
import { readLooseTimestamp, repairNote, repairSegmentMessage } from './segment-leniency.js'

/** The Segment HTTP tracking API calls Tally answers, each one event type. */
export const SEGMENT_CALLS = ['track', 'page', 'screen', 'identify', 'group', 'alias'] as const
export type SegmentCall = (typeof SEGMENT_CALLS)[number]

/**
 * Keys Segment clients put on a message that mean nothing to Tally: transport metadata (`_metadata`,
 * `writeKey`, `channel`, `version`, `requestId`) and times the server owns (`receivedAt`). They are removed
 * silently, as they carry no event data. (`integrations` is accepted and, Tally having no destinations,
 * not stored: see EventCreate.)
 */
const SEGMENT_ONLY_KEYS = [
  '_metadata',
  'writeKey',
  'channel',
  'version',
  'requestId',
  'receivedAt',
  'projectId',
]

/** Fields that analytics.js and others send as `null` when unset; Segment treats null as absent. */
const NULLABLE_KEYS = [
  'userId',
  'anonymousId',
  'groupId',
  'previousId',
  'messageId',
  'sessionId',
  'timestamp',
  'sentAt',
  'originalTimestamp',
  'name',
  'event',
  'category',
  'properties',
  'traits',
  'context',
  'integrations',
]

export interface SegmentDefaults {
  /** Batch-level `context`, merged under each message's own, object by object. */
  context?: Record<string, unknown>
  /** Batch-level `integrations`, merged under each message's own. */
  integrations?: Record<string, unknown>
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Maps one Segment message to Tally's EventCreate: `event` → `name` for track, page/screen `category` →
 * `properties.category`, Segment-only keys dropped, nulls treated as absent, then Segment's leniency
 * (segment-leniency.ts) with each repair pushed to `notes`. `type` (from the route) overrides the
 * message's own. Anything that is not an object is passed on for the validator to reject. Copies with
 * spread and `delete`, never by assigning dynamic keys, so a `__proto__` key stays an own property for the
 * validator to report.
 */
export function fromSegmentMessage(
  message: unknown,
  type?: SegmentCall,
  defaults: SegmentDefaults = {},
  notes: ValidationIssue[] = [],
): unknown {
  if (!isObject(message)) return message
  const out: Record<string, unknown> = { ...message }
  for (const key of SEGMENT_ONLY_KEYS) delete out[key]
  for (const key of NULLABLE_KEYS) if (out[key] === null) delete out[key]
  if (type !== undefined) out.type = type
  if (out.type === 'track' && 'event' in out) {
    // `event` is the Segment field; a `name` beside it (Tally's own spelling) that differs gives way, noted —
    // unless `event` names nothing (empty, not text) and `name` does: then `name` stays, `event` is noted.
    const usable = (v: unknown) => typeof v === 'string' && v.trim() !== ''
    if ('name' in out && out.name !== out.event) {
      const keepName = !usable(out.event) && usable(out.name)
      notes.push(
        keepName
          ? repairNote(
              '/event',
              'unknown_field',
              `${JSON.stringify(out.event)} names nothing; "name" is used`,
            )
          : repairNote(
              '/name',
              'unknown_field',
              `${JSON.stringify(out.name)} not stored: a track call is named by "event"`,
            ),
      )
      if (!keepName) out.name = out.event
    } else out.name = out.event
    delete out.event
  }
  // Only into properties that are an object (or absent): other properties are left for the validator to
  // refuse, not replaced by `{ category }`.
  if ((out.type === 'page' || out.type === 'screen') && 'category' in out) {
    if (out.properties === undefined || isObject(out.properties)) {
      const properties = out.properties ?? {}
      if ('category' in properties && properties.category !== out.category) {
        notes.push(
          repairNote(
            '/category',
            'unknown_field',
            `${JSON.stringify(out.category)} not stored: properties.category (${JSON.stringify(properties.category)}) is kept`,
          ),
        )
      }
      out.properties = 'category' in properties ? properties : { ...properties, category: out.category }
      delete out.category
    }
  }
  if (defaults.context && (out.context === undefined || isObject(out.context))) {
    out.context = mergeUnder(defaults.context, out.context as Record<string, unknown> | undefined)
  }
  if (defaults.integrations && (out.integrations === undefined || isObject(out.integrations))) {
    out.integrations = {
      ...defaults.integrations,
      ...(out.integrations as Record<string, unknown> | undefined),
    }
  }
  notes.push(...repairSegmentMessage(out))
  return out
}

/**
 * `own` over `defaults`, object by object: a batch's `context.app.name` reaches a message whose context
 * has `app.build` only (a shallow merge lost it). Where both hold a value that is not an object, the
 * message's wins. Copies, never mutates; keys are defined, not assigned, so `__proto__` stays a plain key.
 * Depth is bounded by the body parser's nesting limit.
 */
function mergeUnder(
  defaults: Record<string, unknown>,
  own: Record<string, unknown> | undefined,
): Record<string, unknown> {
  if (own === undefined) return { ...defaults }
  const out: Record<string, unknown> = { ...defaults }
  for (const [key, value] of Object.entries(own)) {
    const under = Object.hasOwn(defaults, key) ? defaults[key] : undefined
    const merged = isObject(under) && isObject(value) ? mergeUnder(under, value) : value
    Object.defineProperty(out, key, { value: merged, enumerable: true, writable: true, configurable: true })
  }
  return out
}

/** What a Segment batch body (`/v1/batch`, `/v1/import`) carries besides the messages. */
export interface SegmentBatch {
  events: unknown[]
  sentAt?: string
  /** Per event (same index), what the Segment leniency repaired: stored with the event as violations. */
  notes?: ValidationIssue[][]
}

/** Unpacks `{ batch: [...], sentAt?, context?, integrations? }` (or a bare array) into EventCreate candidates. */
export function fromSegmentBatch(body: unknown): SegmentBatch {
  if (Array.isArray(body)) {
    const notes = body.map(() => [] as ValidationIssue[])
    return { events: body.map((m, i) => fromSegmentMessage(m, undefined, {}, notes[i])), notes }
  }
  if (!isObject(body) || !Array.isArray(body.batch)) {
    throw new AppError('invalid_body', 'A Segment batch must be an object with a "batch" array')
  }
  const defaults: SegmentDefaults = {
    context: isObject(body.context) ? body.context : undefined,
    integrations: isObject(body.integrations) ? body.integrations : undefined,
  }
  const notes = body.batch.map(() => [] as ValidationIssue[])
  const events = body.batch.map((m, i) => fromSegmentMessage(m, undefined, defaults, notes[i]))
  let sentAt: string | undefined
  if (body.sentAt !== undefined && body.sentAt !== null) {
    // The batch's sentAt applies to events without their own; read leniently as theirs are.
    const valid = typeof body.sentAt === 'string' && isIsoDateTime(body.sentAt)
    sentAt = valid ? (body.sentAt as string) : (readLooseTimestamp(body.sentAt) ?? undefined)
    if (!valid) {
      const message =
        sentAt === undefined
          ? `the batch's sentAt ${JSON.stringify(body.sentAt)} is not a date-time; not used`
          : `the batch's sentAt ${JSON.stringify(body.sentAt)} read as ${sentAt}`
      // Only on the events that take the batch's sentAt (those without their own).
      events.forEach((event, i) => {
        if (isObject(event) && event.sentAt === undefined)
          notes[i].push({ path: '/sentAt', code: 'format', message })
      })
    }
  }
  return { events, sentAt, notes }
}

/** Unpacks a single-call body (`/v1/track` …): one message, whose `sentAt` applies to it. */
export function fromSegmentCall(body: unknown, type: SegmentCall): SegmentBatch {
  if (!isObject(body)) throw new AppError('invalid_body', 'A Segment call body must be a JSON object')
  const notes: ValidationIssue[] = []
  return { events: [fromSegmentMessage(body, type, {}, notes)], notes: [notes] }
}
