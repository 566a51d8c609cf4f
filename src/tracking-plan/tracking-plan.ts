import type { ValidateFunction } from 'ajv'
import { collapseWhitespace, type NameCase } from '../enrich/names.js'
import { storedEventName } from '../enrich/stored-name.js'
import { AppError } from '../errors/app-error.js'
import type { EventCreate } from '../schema/event-create.js'
import { EVENT_TYPES, type EventType } from '../schema/event-types.js'
import { MAX_NAME_LENGTH } from '../schema/primitives.js'
import type { EnforcementMode } from '../store/project-types.js'
import type { StoredSchema } from '../store/schema-types.js'
import { formatAjvErrors } from '../validate/format-errors.js'
import type { IssueList } from '../validate/issue-list.js'
import { type CompatibilityReport, checkCompatibility } from './compatibility.js'
import { UserSchemaCompiler } from './compile-user-schema.js'
import { assertBoundedChecks, assertNoRefCycle } from './ref-cycles.js'
import { assertSafePatterns } from './safe-patterns.js'
import { compareSchemaVer, parseSchemaVer, type SchemaVer } from './schema-ver.js'

/** The event name a schema registers under to cover every event of its type (and nameless types). */
export const ANY_EVENT_NAME = '*'

/** Event types that carry no `name`: their schemas are registered under `*`. */
const NAMELESS_TYPES: ReadonlySet<string> = new Set(['identify', 'group', 'alias'])
/** Event types whose tracking-plan schema validates `traits` rather than `properties`. */
const TRAIT_TYPES: ReadonlySet<string> = new Set(['identify', 'group'])

export interface RegisterSchemaInput {
  eventType: EventType
  /** The event name, or `*` for every event of the type (required for identify, group and alias). */
  eventName: string
  /** SchemaVer `MODEL-REVISION-ADDITION`, greater than every version registered for this type + name. */
  version: string
  /** A JSON Schema (draft-07, or 2020-12 via `$schema`) for the event's `properties` (`traits`). */
  jsonSchema: Record<string, unknown>
  /** Defaults to now. */
  createdAt?: string
}

export interface RegisteredSchema {
  /** What to persist (`EventStore.saveSchema`). */
  stored: StoredSchema
  /** Against the previous version; null for the first version. */
  compatibility: CompatibilityReport | null
}

/** Outcome of checking one event against the plan; the issues themselves go into the caller's list. */
export interface PlanCheck {
  reject: boolean
  schema: { name: string; version: string } | null
}

interface SchemaVersion {
  stored: StoredSchema
  ver: SchemaVer
  /** Null for a stored schema that no longer compiles (`unusable` says why). */
  validate: ValidateFunction | null
  unusable?: string
}

const key = (type: string, name: string) => `${type}\u0000${name}`

/**
 * Largest schema registered, in characters of JSON: event schemas of Segment Protocols or Snowplow plans
 * are a few KB; far beyond that, compiling (synchronous, on the server's thread) costs seconds.
 */
export const MAX_SCHEMA_CHARS = 65_536

/** A version as `listSchemas` shows it. */
export type ListedSchema = StoredSchema & {
  /** Set when a stored version no longer compiles: why. Its events get a finding until a fixed version. */
  unusable?: string
}

/**
 * A project's tracking plan: user JSON Schemas keyed by event `type` + `name`, each with SchemaVer
 * versions. In memory; `fromStoredSchemas` rebuilds it from what the store persisted.
 *
 * What a schema validates: the event's `properties` (`traits` for identify and group; an absent object
 * counts as `{}`). `alias` carries no payload: an `alias/*` schema only marks alias events as planned.
 * Which schema: the one registered for the event's type + name, else the type's `*` schema.
 * Which version: the latest, unless the event pins one in `context.schema.version`.
 *
 * Enforcement (per project):
 * - `allow`: unplanned events pass silently; a planned event's violations are returned as warnings.
 * - `warn`: as `allow`, and an unplanned event also gets an `unknown_event` warning.
 * - `block`: unplanned events (`unknown_event`), violations (`schema_violation`, at the precise path) and
 *   unknown pinned versions (`unknown_schema_version`) are rejected.
 *
 * @example
 * const plan = new TrackingPlan('p1')
 * plan.register({ eventType: 'track', eventName: 'Signed Up', version: '1-0-0',
 *   jsonSchema: { type: 'object', required: ['plan'], properties: { plan: { enum: ['free', 'pro'] } } } })
 */
export class TrackingPlan {
  readonly projectId: string
  readonly #entries = new Map<string, SchemaVersion[]>()
  readonly #compiler = new UserSchemaCompiler()
  /** `#casedNames` per case policy; cleared when a schema is added. */
  readonly #casedIndex = new Map<NameCase, Map<string, string>>()

  constructor(projectId = 'default') {
    this.projectId = projectId
  }

  /**
   * Rebuilds a plan from persisted schemas (any order). A version that no longer compiles is kept as
   * unusable (its events get a finding), so one bad schema never fails the whole plan.
   */
  static fromStoredSchemas(schemas: readonly StoredSchema[], projectId?: string): TrackingPlan {
    const plan = new TrackingPlan(projectId ?? schemas[0]?.projectId ?? 'default')
    const sorted = [...schemas].sort((a, b) => {
      const va = parseSchemaVer(a.version)
      const vb = parseSchemaVer(b.version)
      return va && vb ? compareSchemaVer(va, vb) : 0
    })
    for (const s of sorted) {
      plan.register(
        {
          eventType: s.eventType as EventType,
          eventName: s.eventName,
          version: s.version,
          jsonSchema: s.jsonSchema,
          createdAt: s.createdAt,
        },
        { stored: true },
      )
    }
    return plan
  }

  /** Number of type + name entries. */
  get size(): number {
    return this.#entries.size
  }

  /**
   * Adds a version. Throws `AppError`: `validation_failed` (unknown type, bad name), `schema_version_invalid`
   * (not SchemaVer), `schema_version_exists`, `schema_version_not_newer`, `schema_invalid` (Ajv's message;
   * a regex the linear-time engine cannot run, `safe-patterns.ts`; a `$ref` cycle that never moves into
   * the data, `ref-cycles.ts`). `stored`: the schema comes from the database and skips those last two
   * checks, so that a plan saved before them keeps loading.
   */
  register(input: RegisterSchemaInput, options: { stored?: boolean } = {}): RegisteredSchema {
    const { eventType, eventName, version } = input
    if (!(EVENT_TYPES as readonly string[]).includes(eventType)) {
      throw new AppError('validation_failed', `unknown event type ${JSON.stringify(eventType)}`, {
        details: { eventType },
      })
    }
    if (typeof eventName !== 'string' || eventName.length === 0 || eventName.length > MAX_NAME_LENGTH) {
      throw new AppError('validation_failed', `eventName must be 1–${MAX_NAME_LENGTH} characters`)
    }
    if (NAMELESS_TYPES.has(eventType) && eventName !== ANY_EVENT_NAME) {
      throw new AppError(
        'validation_failed',
        `${eventType} events have no name; register the schema under "*"`,
      )
    }
    const ver = typeof version === 'string' ? parseSchemaVer(version) : null
    if (ver === null) {
      throw new AppError(
        'schema_version_invalid',
        `${JSON.stringify(version)} is not SchemaVer MODEL-REVISION-ADDITION (e.g. 1-0-0)`,
      )
    }
    const versions = this.#entries.get(key(eventType, eventName)) ?? []
    const latest = versions.at(-1)
    if (versions.some((v) => compareSchemaVer(v.ver, ver) === 0)) {
      throw new AppError(
        'schema_version_exists',
        `${eventType}/${eventName} ${version} is already registered`,
      )
    }
    if (latest !== undefined && compareSchemaVer(ver, latest.ver) < 0) {
      throw new AppError(
        'schema_version_not_newer',
        `${version} is not greater than the latest version ${latest.stored.version}`,
        {
          details: { latest: latest.stored.version },
        },
      )
    }
    const text = JSON.stringify(input.jsonSchema ?? null)
    if (!options.stored && text.length > MAX_SCHEMA_CHARS) {
      // Compiling is synchronous: a 290 KB schema of 4,000 patterned properties blocked the server ~3 s.
      throw new AppError(
        'schema_invalid',
        `the schema is ${text.length} characters of JSON; a tracking-plan schema may have at most ${MAX_SCHEMA_CHARS}`,
      )
    }
    const jsonSchema = JSON.parse(text) as Record<string, unknown>
    // New schemas only: one already in the database (registered before these checks) keeps loading.
    if (!options.stored) {
      assertMatchableName(eventName)
      assertObjectSchema(jsonSchema)
      assertSafePatterns(jsonSchema)
    }
    let validate: ValidateFunction | null = null
    let unusable: string | undefined
    try {
      // Before compiling: Ajv's compile itself overflows the stack on a cycle made of $refs alone. Stored
      // schemas too: one saved before the check overflowed on every event it matched, in every mode.
      assertNoRefCycle(jsonSchema)
      assertBoundedChecks(jsonSchema)
      validate = this.#compiler.compile(jsonSchema, options.stored ? 'stored' : 'registered')
    } catch (err) {
      // A stored schema that no longer compiles must not take the project's ingest down: it is kept as
      // unusable, and its events are told why (`check`).
      if (!options.stored || !(err instanceof AppError) || err.code !== 'schema_invalid') throw err
      unusable = err.message
    }
    const stored: StoredSchema = {
      projectId: this.projectId,
      eventType,
      eventName,
      version,
      jsonSchema,
      createdAt: input.createdAt ?? new Date().toISOString(),
    }
    // Only for a new version: a plan rebuilt from the store has no one to tell.
    const compatibility =
      latest === undefined || options.stored
        ? null
        : checkCompatibility(
            { version: latest.stored.version, ver: latest.ver, jsonSchema: latest.stored.jsonSchema },
            { version, ver, jsonSchema },
          )
    versions.push({ stored, ver, validate, unusable })
    this.#entries.set(key(eventType, eventName), versions)
    this.#casedIndex.clear()
    return { stored, compatibility }
  }

  /**
   * Registered names by the name their events are stored under with `nameCase`. When two registered names
   * become one (`OrderDone` and `Order Done` in a snake_case project), the one registered first wins —
   * by its first version's `createdAt`, not by the order the store lists them in.
   */
  #casedNames(nameCase: NameCase): Map<string, string> {
    let index = this.#casedIndex.get(nameCase)
    if (index === undefined) {
      const winners = new Map<string, { name: string; since: string }>()
      for (const versions of this.#entries.values()) {
        const { eventType, eventName, createdAt } = versions[0].stored
        if (eventName === ANY_EVENT_NAME) continue
        const cased = storedEventName({ type: eventType, name: eventName }, nameCase)
        if (cased === null) continue
        const held = winners.get(key(eventType, cased))
        if (held === undefined || createdAt < held.since)
          winners.set(key(eventType, cased), { name: eventName, since: createdAt })
      }
      index = new Map([...winners].map(([k, v]) => [k, v.name]))
      this.#casedIndex.set(nameCase, index)
    }
    return index
  }

  /** One version (latest when `version` is omitted), as `listSchemas` shows it, or undefined. */
  getSchema(eventType: string, eventName: string, version?: string): ListedSchema | undefined {
    const versions = this.#entries.get(key(eventType, eventName))
    const v = version === undefined ? versions?.at(-1) : versions?.find((x) => x.stored.version === version)
    return v === undefined ? undefined : listed(v)
  }

  /**
   * Every version of every schema, oldest first within each type + name. A stored version that no longer
   * compiles carries `unusable` (why): its events get a finding, and the listing is where a user sees it.
   */
  listSchemas(): ListedSchema[] {
    return [...this.#entries.values()].flatMap((versions) => versions.map(listed))
  }

  /**
   * Checks a valid event against the plan under `mode`, adding warnings or errors to `issues`.
   * `reject` is true only in `block` mode.
   */
  check(
    event: EventCreate,
    mode: EnforcementMode,
    issues: IssueList,
    nameCase: NameCase = 'as-is',
  ): PlanCheck {
    // The name the event will be stored under (the formatter's rule), so the schema that applies is the
    // one registered for what the user will see stored.
    const name = storedEventName(event, nameCase) ?? undefined
    let entryName = name ?? ANY_EVENT_NAME
    let versions: SchemaVersion[] | undefined
    if (name !== undefined && nameCase !== 'as-is') {
      // Registered as `Order Completed` in a snake_case project: events are stored as `order_completed`.
      // Asked first, also when a schema is registered under exactly `order_completed`: of the names that
      // become one, the first registered wins (a later `order_completed` silently took over from the
      // `Order Completed` schema it collides with; a trial).
      const registered = this.#casedNames(nameCase).get(key(event.type, name))
      if (registered !== undefined) {
        entryName = registered
        versions = this.#entries.get(key(event.type, registered))
      }
    }
    versions ??= this.#entries.get(key(event.type, entryName))
    if (versions === undefined && entryName !== ANY_EVENT_NAME) {
      entryName = ANY_EVENT_NAME
      versions = this.#entries.get(key(event.type, ANY_EVENT_NAME))
    }
    const block = mode === 'block'
    if (versions === undefined || versions.length === 0) {
      if (mode !== 'allow') {
        const what = name === undefined ? `${event.type} events` : `${event.type} "${name}"`
        issues.add(
          name === undefined ? '/type' : '/name',
          'unknown_event',
          `the tracking plan has no schema for ${what}`,
        )
      }
      return { reject: block, schema: null }
    }

    let chosen = versions[versions.length - 1]
    const pinned = event.context?.schema?.version
    let failed = false
    if (pinned !== undefined) {
      const match = versions.find((v) => v.stored.version === pinned)
      if (match === undefined) {
        issues.add(
          '/context/schema/version',
          'unknown_schema_version',
          `${event.type}/${entryName} has no version ${JSON.stringify(pinned)}`,
          versions.map((v) => v.stored.version).join(', '),
        )
        failed = true
      } else {
        chosen = match
      }
    }

    if (event.type !== 'alias') {
      const field = TRAIT_TYPES.has(event.type) ? 'traits' : 'properties'
      const target = (event as Record<string, unknown>)[field] ?? {}
      if (chosen.validate === null) {
        failed = true
        issues.add(
          `/${field}`,
          'schema_violation',
          `the tracking-plan schema ${event.type}/${entryName} ${chosen.stored.version} cannot be used (${chosen.unusable}); register a fixed version, then replay`,
        )
      } else if (!chosen.validate(target)) {
        failed = true
        formatAjvErrors(chosen.validate.errors ?? [], event, issues, {
          pathPrefix: `/${field}`,
          code: 'schema_violation',
        })
      }
    }
    return {
      reject: block && failed,
      schema: { name: `${event.type}/${entryName}`, version: chosen.stored.version },
    }
  }
}

/** A plan with no schemas (every event unplanned); shared, never registered into. */
export const EMPTY_TRACKING_PLAN: TrackingPlan = Object.freeze(new TrackingPlan('none')) as TrackingPlan

/**
 * Event names are stored trimmed with inner whitespace collapsed (the formatter's rule), so a schema
 * registered under " Signed Up" or "Signed  Up" would never meet an event: refused with the reason.
 */
function assertMatchableName(eventName: string): void {
  if (eventName === ANY_EVENT_NAME) return
  const normal = collapseWhitespace(eventName)
  if (normal === '') throw new AppError('validation_failed', 'eventName is only whitespace')
  if (normal !== eventName) {
    throw new AppError(
      'validation_failed',
      `eventName ${JSON.stringify(eventName)} would never match: event names are stored trimmed, with inner whitespace collapsed (${JSON.stringify(normal)})`,
    )
  }
}

/**
 * A plan schema validates `properties` (or `traits`), which is always a JSON object: a root `type` that
 * does not allow an object would reject every event in `block` mode and flag every one otherwise.
 */
function assertObjectSchema(jsonSchema: Record<string, unknown>): void {
  const type = jsonSchema.type
  if (type === undefined) return
  const types = Array.isArray(type) ? type : [type]
  if (!types.includes('object')) {
    throw new AppError(
      'schema_invalid',
      `the schema's type is ${JSON.stringify(type)}, but it validates the event's properties (traits for identify and group), which are always an object`,
    )
  }
}

/** A version as the listings show it: the stored schema, with `unusable` when it no longer compiles. */
function listed(v: SchemaVersion): ListedSchema {
  return v.unusable === undefined ? v.stored : { ...v.stored, unusable: v.unusable }
}
