import type { ValidateFunction } from 'ajv'
import type { ValidationLimits } from '../config/limits.js'
import { AppError } from '../errors/app-error.js'
import { type AnalyticsEvent, AnalyticsEventSchema } from '../schema/analytics-event.js'
import type { ValidationIssue } from '../schema/validation-issue.js'
import type { InsertOutcome } from '../store/event-store.js'
import type { KyselyEventStore } from '../store/kysely-event-store.js'
import { createEventAjv, prepareSchema } from '../validate/compile.js'
import { formatAjvErrors } from '../validate/format-errors.js'
import { isIsoDateTime } from '../validate/formats.js'
import { checkHostileInput } from '../validate/hostile-input.js'
import { IssueList } from '../validate/issue-list.js'

/**
 * How `tally import` restores what `tally export` / GET /api/v1/events/export wrote: a line that is a
 * stored event (`AnalyticsEvent`) is checked against the stored-event schema and stored as it is — same
 * id, messageId, times, enrichment, status — instead of going through validation and enrichment as a new
 * event (which would refuse the server's fields, and would assign new ids, re-derive sessions and
 * re-anonymise).
 */

/**
 * The fields only the server sets: a new event may carry none of them (the event model refuses each), so
 * an object with all four is a stored event — an export line — and nothing else.
 */
export const STORED_EVENT_FIELDS = ['id', 'projectId', 'receivedAt', 'status'] as const

/** True when `value` is an object with every field of `STORED_EVENT_FIELDS`. */
export function looksStored(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  return STORED_EVENT_FIELDS.every((field) => Object.hasOwn(value, field))
}

/**
 * The largest stored event read, as a multiple of the event limit: enrichment adds to what the client
 * sent (parsed user agent, page facts, campaign, violations, the server's fields), so an export line can
 * be larger than the event it came from.
 */
export const STORED_EVENT_SIZE_FACTOR = 4

export type StoredEventCheck = { ok: true; event: AnalyticsEvent } | { ok: false; errors: ValidationIssue[] }

let compiled: ValidateFunction<AnalyticsEvent> | undefined

/**
 * `AnalyticsEvent` as Ajv checks a restored line. Its `context` reuses the client's schema, whose string
 * bounds apply to what a client sends, not to what enrichment derived from it (a campaign field or a page
 * path taken from a URL of up to 8,192 characters): those bounds are lifted there, and the hostile-input
 * walk's string limit stands instead. Everything else is the stored-event schema as it is.
 */
function storedEventValidator(): ValidateFunction<AnalyticsEvent> {
  if (compiled === undefined) {
    const schema = prepareSchema(AnalyticsEventSchema) as { properties: { context: unknown } }
    schema.properties.context = withoutMaxLength(schema.properties.context)
    const ajv = createEventAjv()
    // The stored times are written by the server (`toISOString`), or as the client sent them (sentAt).
    ajv.addFormat('date-time', { type: 'string', validate: isIsoDateTime })
    compiled = ajv.compile<AnalyticsEvent>(schema)
  }
  return compiled
}

function withoutMaxLength(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutMaxLength)
  if (typeof schema !== 'object' || schema === null) return schema
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key !== 'maxLength') out[key] = withoutMaxLength(value)
  }
  return out
}

/** Checks restored lines: the hostile-input walk (with room for enrichment), then the stored-event schema. */
export class StoredEventChecker {
  readonly #limits: ValidationLimits
  readonly #validate = storedEventValidator()

  constructor(limits: ValidationLimits) {
    this.#limits = { ...limits, maxEventBytes: limits.maxEventBytes * STORED_EVENT_SIZE_FACTOR }
  }

  /** The largest stored event accepted, in bytes. */
  get maxBytes(): number {
    return this.#limits.maxEventBytes
  }

  /** `value` (parsed from a line of `byteSize` bytes) as a stored event, or what is wrong with it. */
  check(value: unknown, byteSize?: number): StoredEventCheck {
    const issues = new IssueList(this.#limits.maxIssuesPerEvent)
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`
      issues.add('', 'type', `a stored event must be a JSON object, not ${got}`, 'object')
      return { ok: false, errors: issues.items }
    }
    // Limits, NUL (PostgreSQL cannot store it), lone surrogates, `__proto__` keys, non-finite numbers.
    if (!checkHostileInput(value, this.#limits, issues, { byteSize }))
      return { ok: false, errors: issues.items }
    if (this.#validate(value)) return { ok: true, event: value }
    formatAjvErrors(this.#validate.errors ?? [], value, issues)
    return { ok: false, errors: issues.items }
  }
}

/** Ids looked up per query (well under every dialect's bound-parameter limit). */
const ID_CHUNK = 500

/**
 * Stores restored events as they are, deduplicated by `(projectId, messageId)` like every insert: a
 * messageId stored already is a `duplicate`, so restoring the same file twice stores each event once.
 *
 * A restore keeps ids, and an id is unique across the whole database. An event whose id is stored already
 * under the same project and messageId is a duplicate; under another one (the same file restored into a
 * second project of the same database with `--project`, or an edited file) it cannot be stored beside it:
 * AppError('conflict'), naming the line, before anything of the batch is written. The id lookup reads
 * `events` directly, as `keepFailedOnce` reads `failed_events`: the store has no by-id lookup across
 * projects, and the CLI calls this one batch at a time.
 */
export async function storeRestoredEvents(
  store: KyselyEventStore,
  events: readonly AnalyticsEvent[],
  lines: readonly number[],
): Promise<InsertOutcome[]> {
  const keyOf = (projectId: string, messageId: string) => `${projectId}\u0000${messageId}`
  const clash = (i: number, held: { projectId: string; messageId: string }): AppError => {
    const e = events[i]
    return new AppError(
      'conflict',
      `line ${lines[i]}: event id ${e.id} is stored already, as messageId ${JSON.stringify(held.messageId)} of project ${JSON.stringify(held.projectId)}; a restore keeps ids, so messageId ${JSON.stringify(e.messageId)} of project ${JSON.stringify(e.projectId)} cannot be stored beside it`,
    )
  }

  // Within the batch: one id for two different events.
  const firstById = new Map<string, number>()
  events.forEach((e, i) => {
    const first = firstById.get(e.id)
    if (first === undefined) firstById.set(e.id, i)
    else if (keyOf(events[first].projectId, events[first].messageId) !== keyOf(e.projectId, e.messageId)) {
      throw clash(i, events[first])
    }
  })

  // Against the database: an id stored already.
  const held = new Map<string, string>() // id → key of the stored event
  const ids = [...firstById.keys()]
  for (let i = 0; i < ids.length; i += ID_CHUNK) {
    const rows = await store.db
      .selectFrom('events')
      .select(['id', 'project_id', 'message_id'])
      .where('id', 'in', ids.slice(i, i + ID_CHUNK))
      .execute()
    for (const r of rows) {
      const key = keyOf(r.project_id, r.message_id)
      const index = firstById.get(r.id) as number
      if (keyOf(events[index].projectId, events[index].messageId) !== key) {
        throw clash(index, { projectId: r.project_id, messageId: r.message_id })
      }
      held.set(r.id, key)
    }
  }

  // Stored already under the same id: a duplicate, and left out of the insert (an insert would break the
  // primary key before the (project, messageId) dedupe could answer on some databases).
  const outcomes: InsertOutcome[] = new Array(events.length)
  const fresh: AnalyticsEvent[] = []
  const freshIndex: number[] = []
  events.forEach((e, i) => {
    if (held.has(e.id)) outcomes[i] = { status: 'duplicate', id: e.id }
    else {
      fresh.push(e)
      freshIndex.push(i)
    }
  })
  const written = await store.insertBatch(fresh, [])
  written.forEach((outcome, k) => {
    outcomes[freshIndex[k]] = outcome
  })
  return outcomes
}
