import { DEFAULT_LIMITS } from '../../config/limits.js'
import { EventContextSchema } from '../../schema/context.js'
import { EVENT_CREATE_SCHEMAS } from '../../schema/event-create.js'
import type { ValidationIssue } from '../../schema/validation-issue.js'
import { isIsoDateTime } from '../../validate/formats.js'

/**
 * What the Segment routes forgive that the native API does not.
 *
 * Segment's HTTP API is lenient: it ignores top-level fields it does not know, reads loose timestamps and
 * treats null context fields as unset, and real SDKs rely on it (Segment's own `/v1/batch` example sends
 * `"2015-2-02T00:30:12.984Z"`; analytics.js sends `"locale": null`; RudderStack adds `rudderId`). Refusing
 * such an event would lose data an existing SDK sends unchanged, so these routes repair it instead — and
 * never silently: every repair is a note stored in the event's `violations` (code `format` or
 * `unknown_field`), so what was changed stays visible. The native API stays strict.
 */

/** Per event type, the top-level keys its schema knows (the mapping has renamed `event` and `category`). */
const KNOWN_KEYS_BY_TYPE: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries(EVENT_CREATE_SCHEMAS).map(([type, schema]) => [
    type,
    new Set(Object.keys(schema.properties)),
  ]),
)

const TIME_KEYS = ['timestamp', 'sentAt', 'originalTimestamp'] as const
/** Dropped fields noted one by one; past this, one note counts the rest (the validator keeps 20 issues). */
const MAX_FIELD_NOTES = 10
const ID_KEYS = ['userId', 'anonymousId', 'groupId', 'previousId', 'messageId', 'sessionId'] as const

/**
 * `2015-2-02T00:30:12.984Z`, `2026-11-27 10:00:00`, `2026-11-27T10:00:00.000` (no zone: UTC), `+0100`,
 * `+01` (ISO 8601's hour-only offset).
 */
const LOOSE_ISO =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,9}))?)?)?\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/

/**
 * Reads a timestamp Segment would accept but the strict model does not: a loose ISO-8601 form (one-digit
 * month or day, space separator, no zone — read as UTC) or epoch milliseconds (a number below 10^11 is read
 * as seconds). Returns the canonical ISO string, or null when it names no instant.
 */
export function readLooseTimestamp(value: unknown): string | null {
  let ms: number
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null
    ms = Math.abs(value) < 1e11 ? value * 1000 : value
  } else if (typeof value === 'string') {
    const m = LOOSE_ISO.exec(value.trim())
    if (m === null) return null
    const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', , sign, zh, zm = '0'] = m
    const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const
    // Date.UTC rolls 2026-02-30 over to March: a field out of range names no instant.
    const back = new Date(Date.UTC(...parts))
    const fields = [
      back.getUTCFullYear(),
      back.getUTCMonth(),
      back.getUTCDate(),
      back.getUTCHours(),
      back.getUTCMinutes(),
      back.getUTCSeconds(),
    ]
    if (fields.some((f, i) => f !== parts[i])) return null
    ms = back.getTime() + Number(frac.padEnd(3, '0').slice(0, 3))
    if (sign !== undefined) {
      const offsetMin = Number(zh) * 60 + Number(zm)
      if (Number(zh) > 23 || Number(zm) > 59) return null
      ms -= (sign === '+' ? 1 : -1) * offsetMin * 60_000
    }
  } else return null
  const date = new Date(ms)
  if (Number.isNaN(date.getTime())) return null
  // ISO-8601 as the model reads it has four-digit years; toISOString writes ±YYYYYY outside 0–9999,
  // which the validator then refused (and the refused payload kept a time the client never sent).
  const year = date.getUTCFullYear()
  return year < 0 || year > 9999 ? null : date.toISOString()
}

/** A repair note: marked, so that a replay keeps it apart from what validation says of the event. */
export function repairNote(path: string, code: ValidationIssue['code'], message: string): ValidationIssue {
  return { path, code, message, repaired: true }
}

/** A number in plain decimal notation (what JSON itself allows), no surrounding blanks. */
const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/

/** JSON Pointer escaping of one key. */
const pointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1')

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

interface KeySchema {
  type?: string
  minLength?: number
  properties?: Record<string, KeySchema>
}
const CONTEXT_FIELDS = EventContextSchema.properties as unknown as Record<string, KeySchema>

/**
 * Repairs typed context fields, at the top of `context` and one level into its typed objects (`page`,
 * `screen`, `app`, …), as SDKs send them: `null` (or `""` where the model wants a non-empty string) is read
 * as unset and removed; a number sent as text (`"density": "2.0"`) is read as the number, a number where
 * text is expected as its text, and a `library` sent as a bare name as `{ name }`. Anything else is left
 * for the validator. Free-form keys are kept as sent, nulls included. Returns the context (copied when
 * changed).
 */
function repairContextFields(context: Record<string, unknown>, notes: ValidationIssue[]) {
  let out = context
  const repairs = (path: string, value: unknown, schema: KeySchema): { value?: unknown } | null => {
    if (value === null || (value === '' && schema.type === 'string' && (schema.minLength ?? 0) > 0)) {
      notes.push(repairNote(path, 'format', `${JSON.stringify(value)} read as unset; not stored`))
      return {}
    }
    if ((schema.type === 'number' || schema.type === 'integer') && typeof value === 'string') {
      // Decimal notation only: Number() also reads "0x10" as 16 and "0b11" as 3 (a re-check trial).
      const n = DECIMAL.test(value) ? Number(value) : Number.NaN
      if (!Number.isFinite(n) || (schema.type === 'integer' && !Number.isSafeInteger(n))) return null
      notes.push(repairNote(path, 'type', `${JSON.stringify(value)} read as the number ${n}`))
      return { value: n }
    }
    if (path === '/context/ip' && typeof value === 'number') {
      // No number is an IP address: read as unset, so the connection's address applies (as text it was
      // then refused as "not an IP address", and the event kept no address at all).
      notes.push(repairNote(path, 'type', `${value} is not an IP address; the connection's address is used`))
      return {}
    }
    if (schema.type === 'string' && typeof value === 'number' && Number.isFinite(value)) {
      notes.push(repairNote(path, 'type', `${value} read as the text "${value}"`))
      return { value: String(value) }
    }
    if (path === '/context/library' && typeof value === 'string' && value !== '') {
      notes.push(
        repairNote(path, 'type', `${JSON.stringify(value)} read as { "name": ${JSON.stringify(value)} }`),
      )
      return { value: { name: value } }
    }
    return null
  }
  const put = (target: Record<string, unknown>, key: string, repair: { value?: unknown }) => {
    if ('value' in repair) target[key] = repair.value
    else delete target[key]
  }
  for (const [key, schema] of Object.entries(CONTEXT_FIELDS)) {
    if (!Object.hasOwn(out, key)) continue
    const value = out[key]
    const repair = repairs(`/context/${key}`, value, schema)
    if (repair !== null) {
      if (out === context) out = { ...context }
      put(out, key, repair)
      continue
    }
    if (schema.properties === undefined || !isObject(value)) continue
    let inner = value
    for (const [sub, subSchema] of Object.entries(schema.properties)) {
      if (!Object.hasOwn(inner, sub)) continue
      const innerRepair = repairs(`/context/${key}/${sub}`, inner[sub], subSchema)
      if (innerRepair === null) continue
      if (inner === value) inner = { ...value }
      put(inner, sub, innerRepair)
    }
    if (inner !== value) {
      if (out === context) out = { ...context }
      out[key] = inner
    }
  }
  return out
}

/**
 * Repairs one mapped Segment message in place (`out` is the mapping's own copy) and returns the notes:
 * unknown top-level fields dropped, empty-string ids read as absent, loose timestamps made canonical
 * (unreadable ones dropped, so the receive time applies), typed context fields repaired (repairContextFields).
 */
export function repairSegmentMessage(out: Record<string, unknown>): ValidationIssue[] {
  const notes: ValidationIssue[] = []
  // Only for a known type: an event of no known type is rejected as such, with nothing repaired.
  const known = typeof out.type === 'string' ? KNOWN_KEYS_BY_TYPE.get(out.type) : undefined
  if (known === undefined) return notes
  const keys = Object.keys(out)
  // More keys than any object may have: left for the validator to refuse (too_many_keys), as the native
  // route does, rather than dropping tens of thousands and storing a note for each.
  if (keys.length > DEFAULT_LIMITS.maxKeysPerObject) return notes
  const unknown = keys.filter((key) => !known.has(key) && key !== '__proto__') // __proto__: the validator's
  for (const key of unknown) delete out[key]
  for (const key of unknown.slice(0, MAX_FIELD_NOTES)) {
    notes.push(
      repairNote(`/${pointer(key)}`, 'unknown_field', `not a field of a ${out.type} event; not stored`),
    )
  }
  if (unknown.length > MAX_FIELD_NOTES) {
    const more = unknown.length - MAX_FIELD_NOTES
    notes.push(
      repairNote(
        '',
        'unknown_field',
        `${more} more fields that a ${out.type} event does not have; not stored`,
      ),
    )
  }
  for (const key of ID_KEYS) {
    if (out[key] === '') {
      delete out[key]
      notes.push(repairNote(`/${key}`, 'format', 'empty string read as absent'))
    }
  }
  for (const key of TIME_KEYS) {
    const value = out[key]
    if (value === undefined || (typeof value === 'string' && isIsoDateTime(value))) continue
    const iso = readLooseTimestamp(value)
    if (iso === null) {
      delete out[key]
      notes.push(repairNote(`/${key}`, 'format', `${JSON.stringify(value)} is not a date-time; not used`))
    } else {
      out[key] = iso
      notes.push(repairNote(`/${key}`, 'format', `${JSON.stringify(value)} read as ${iso}`))
    }
  }
  if (isObject(out.context)) out.context = repairContextFields(out.context, notes)
  return notes
}
