import { DEFAULT_LIMITS, type ValidationLimits } from '../config/limits.js'
import type { NameCase } from '../enrich/names.js'
import type { EventCreate } from '../schema/event-create.js'
import type { ValidationIssue } from '../schema/validation-issue.js'
import type { EnforcementMode } from '../store/project-types.js'
import type { TrackingPlan } from '../tracking-plan/tracking-plan.js'
import { EMPTY_TRACKING_PLAN } from '../tracking-plan/tracking-plan.js'
import { getCompiledEventSchema, getRootPlainStringBound } from './compile.js'
import { applyDerivedFields, checkCrossFieldRules, checkIdentity } from './cross-field-rules.js'
import { formatAjvErrors } from './format-errors.js'
import { formatContext } from './formats.js'
import { checkHostileInput } from './hostile-input.js'
import { IssueList } from './issue-list.js'

/** Which tracking-plan schema validated an event: `name` is `"<type>/<event name>"`, e.g. `track/Signed Up`. */
export interface SchemaRef {
  name: string
  version: string
}

export interface ValidationSuccess {
  ok: true
  /** The event as sent, plus derived fields (an `api_request` without `name` gets `"METHOD route"`). */
  event: EventCreate
  /** Tracking-plan findings that did not reject the event (`allow`/`warn` modes). */
  warnings: ValidationIssue[]
  /** The tracking-plan schema version the event matched, or null when unplanned. */
  schema: SchemaRef | null
}

export interface ValidationFailure {
  ok: false
  /** Every problem found (at most `maxIssuesPerEvent`, the last being `too_many_errors` when cut). */
  errors: ValidationIssue[]
}

export type ValidationResult = ValidationSuccess | ValidationFailure

export interface ValidateOptions {
  /** The project's tracking plan. Without one, every event is unplanned. */
  trackingPlan?: TrackingPlan
  /** Tracking-plan enforcement. Default `allow`. */
  enforcement?: EnforcementMode
  /** The project's name-case policy: the plan is looked up by the name the event will be stored under. */
  nameCase?: NameCase
  /**
   * The exact serialised size of the event in bytes, when the caller has the raw text (an HTTP body
   * slice, a CLI line). Spares the size estimate.
   */
  byteSize?: number
  /**
   * True when the JSON text the event was parsed from contained no backslash and was well-formed
   * (`!text.includes('\\') && text.isWellFormed()`, once per request body): then no string can hold a
   * control character, NUL or lone surrogate, and those per-string checks are skipped. Leave unset when
   * unsure; it is only a shortcut.
   */
  escapeFree?: boolean
  /**
   * True when the JSON text was well-formed and held no `\u` escape (`!text.includes('\\u')`, once per body):
   * then no string can hold NUL or a lone surrogate, and the walk's per-string checks are skipped, while
   * control characters (`\n`, `\t` escapes) are still checked by the schema. Weaker than `escapeFree`,
   * and true far more often (a `\"` in one CSS selector spoils `escapeFree` for a whole batch).
   */
  noUnicodeEscapes?: boolean
  /**
   * An upper bound on the UTF-8 size of the JSON text the event came from, when only that is known (the
   * request body's length, for each event of a batch). With `noUnicodeEscapes` and a bound within the
   * string limit, no string can break a string rule, so the per-string checks are skipped: what a route
   * that parses one body for many events can pass.
   */
  sourceTextBytes?: number
}

export interface EventValidatorOptions {
  /** Overrides of `DEFAULT_LIMITS`. */
  limits?: Partial<ValidationLimits>
}

/**
 * Validates events against Tally's event model and, optionally, a project's tracking plan.
 *
 * Pure and synchronous: no I/O, no clock, no mutation of the input, and it never throws — whatever the
 * input (cyclic objects, class instances, 100,000-deep arrays, `__proto__` keys), the answer is a result.
 * The built-in schema is compiled once per process and shared by every instance.
 *
 * Order per event: the hostile-input walk (limits, forbidden keys, non-finite numbers, lone surrogates);
 * the compiled schema; the cross-field rules; the tracking plan. A failing hostile walk stops there.
 *
 * @example
 * const validator = new EventValidator()
 * const r = validator.validate({ type: 'track', name: 'Signed Up', userId: 'u1' })
 * if (r.ok) store(r.event) else reject(r.errors)
 */
export class EventValidator {
  readonly limits: Readonly<ValidationLimits>
  readonly #validate = getCompiledEventSchema().validate
  /** The model checks top-level strings at least as strictly as the walk would under these limits. */
  readonly #rootStringsSchemaChecked: boolean

  constructor(options: EventValidatorOptions = {}) {
    this.limits = Object.freeze({ ...DEFAULT_LIMITS, ...options.limits })
    this.#rootStringsSchemaChecked = getRootPlainStringBound() <= this.limits.maxStringLength
  }

  validate(input: unknown, options: ValidateOptions = {}): ValidationResult {
    try {
      return this.#run(input, options)
    } catch (err) {
      // Defensive: nothing above is expected to throw; if it ever does, the event is refused, not the caller.
      return {
        ok: false,
        errors: [
          {
            path: '',
            code: 'type',
            message: `the event could not be validated: ${String((err as Error)?.message ?? err)}`,
          },
        ],
      }
    }
  }

  /** `validate` for each input, in order. */
  validateBatch(inputs: readonly unknown[], options: ValidateOptions = {}): ValidationResult[] {
    const results = new Array<ValidationResult>(inputs.length)
    for (let i = 0; i < inputs.length; i++) results[i] = this.validate(inputs[i], options)
    return results
  }

  /**
   * Parses one event's JSON text and validates it. Text longer than the event limit is refused with
   * `too_large` before it is parsed; text that is not JSON gets `invalid_json`.
   */
  validateJson(text: string, options: ValidateOptions = {}): ValidationResult {
    const limit = this.limits.maxEventBytes
    // A UTF-8 encoding takes 1–3 bytes per UTF-16 unit: only the middle range needs counting.
    let byteSize = options.byteSize
    if (byteSize === undefined) byteSize = text.length * 3 <= limit ? text.length : Buffer.byteLength(text)
    if (byteSize > limit) {
      return {
        ok: false,
        errors: [
          {
            path: '',
            code: 'too_large',
            message: `the event is ${byteSize} bytes; the limit is ${limit}`,
            expected: `<= ${limit} bytes`,
          },
        ],
      }
    }
    let input: unknown
    try {
      input = JSON.parse(text)
    } catch (err) {
      return {
        ok: false,
        errors: [{ path: '', code: 'invalid_json', message: `not valid JSON: ${(err as Error).message}` }],
      }
    }
    let { escapeFree, noUnicodeEscapes } = options
    if (escapeFree === undefined || noUnicodeEscapes === undefined) {
      const wellFormed = text.isWellFormed()
      const backslash = text.indexOf('\\')
      escapeFree ??= backslash === -1 && wellFormed
      noUnicodeEscapes ??= wellFormed && (backslash === -1 || text.indexOf('\\u', backslash) === -1)
    }
    return this.validate(input, {
      trackingPlan: options.trackingPlan,
      enforcement: options.enforcement,
      byteSize,
      escapeFree,
      noUnicodeEscapes,
    })
  }

  #run(input: unknown, options: ValidateOptions): ValidationResult {
    const issues = new IssueList(this.limits.maxIssuesPerEvent)
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      const got = input === null ? 'null' : Array.isArray(input) ? 'an array' : `a ${typeof input}`
      issues.add('', 'type', `an event must be a JSON object, not ${got}`, 'object')
      return { ok: false, errors: issues.items }
    }
    // Unless the text is known plain, the top-level strings are left to the schema (see `trustRootStrings`);
    // should the schema fail, the full walk runs again so the findings are exactly the walk's.
    const textKnownPlain = options.escapeFree === true
    const trustRootStrings = !textKnownPlain && this.#rootStringsSchemaChecked
    const walkOptions = {
      byteSize: options.byteSize,
      escapeFree: options.escapeFree,
      noUnicodeEscapes: options.noUnicodeEscapes,
      sourceTextBytes: options.sourceTextBytes,
      trustRootStrings,
    }
    if (!checkHostileInput(input, this.limits, issues, walkOptions))
      return { ok: false, errors: issues.items }

    const record = input as Record<string, unknown>
    formatContext.textKnownPlain = textKnownPlain
    let valid: boolean
    try {
      valid = this.#validate(input)
    } finally {
      formatContext.textKnownPlain = false
    }
    if (!valid) {
      if (trustRootStrings) {
        walkOptions.trustRootStrings = false
        if (!checkHostileInput(input, this.limits, issues, walkOptions))
          return { ok: false, errors: issues.items }
      }
      checkCrossFieldRules(record, issues)
      const skip = new Set<string>()
      for (const issue of issues.items) if (issue.code === 'invalid_number') skip.add(issue.path)
      formatAjvErrors(this.#validate.errors ?? [], input, issues, { skip })
      return { ok: false, errors: issues.items }
    }
    checkIdentity(record, issues)
    if (issues.length > 0) return { ok: false, errors: issues.items }

    const event = applyDerivedFields(input as EventCreate)
    const mode = options.enforcement ?? 'allow'
    const plan = options.trackingPlan ?? EMPTY_TRACKING_PLAN
    if (plan.size === 0 && mode === 'allow') return { ok: true, event, warnings: [], schema: null }

    const outcome = plan.check(event, mode, issues, options.nameCase)
    if (outcome.reject) return { ok: false, errors: issues.items }
    return { ok: true, event, warnings: issues.items, schema: outcome.schema }
  }
}
