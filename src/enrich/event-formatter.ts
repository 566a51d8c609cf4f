import { isDeepStrictEqual } from 'node:util'
import type { EventContext } from '../schema/context.js'
import type { EventCreate } from '../schema/event-create.js'
import type { HttpMethod, PerformanceUnit } from '../schema/event-types.js'
import type { Identifier, JsonObject } from '../schema/primitives.js'
import type { ValidationIssue } from '../schema/validation-issue.js'
import { normaliseRoute } from './api-request.js'
import { createUuidV7Generator, normaliseId, resolveMessageId } from './ids.js'
import { normaliseTargetText } from './interaction.js'
import { anonymiseIp, normaliseRawIp } from './ip.js'
import { formatIsoTime } from './iso-time.js'
import { createPageEnricher, pageFromProperties } from './page.js'
import { defaultUnit, rateMetric } from './performance.js'
import { createRedactor } from './redact.js'
import { createSessionDeriver, visitorKey } from './session.js'
import { storedEventName } from './stored-name.js'
import { DEFAULT_FUTURE_TOLERANCE_MS, DEFAULT_MAX_AGE_MS, resolveTime, type TimeLimits } from './time.js'
import type { EventFormatterOptions, FormatContext, FormatResult, UserAgentData } from './types.js'
import { createUserAgentParser, DEFAULT_USER_AGENT_CACHE_SIZE } from './user-agent.js'

/** Every variant's fields seen through one type (the formatter reads them by presence, not by variant). */
interface AnyEvent {
  type: EventCreate['type']
  name?: string
  messageId?: Identifier
  userId?: Identifier
  anonymousId?: Identifier
  sessionId?: Identifier
  groupId?: Identifier
  previousId?: Identifier
  timestamp?: string
  sentAt?: string
  originalTimestamp?: string
  properties?: JsonObject
  traits?: JsonObject
  context?: EventContext
}

type MutableContext = EventContext & Record<string, unknown>

const NO_KEYS: readonly string[] = Object.freeze([])
const DROP_BOT: FormatResult = Object.freeze({ kind: 'drop', reason: 'bot' }) as FormatResult
/** Context keys not scanned by the redactor: parsed fields, not free text. */
const KEEP_CONTEXT_KEYS: ReadonlySet<string> = new Set(['userAgent'])

/**
 * The enrichment stage: turns a validated `EventCreate` into the `AnalyticsEvent` storage writes. Each step
 * is a small pure function in its own file; this composes them in a fixed order:
 *
 *  1. user agent → `context.userAgentData`, `context.bot` (and `drop` when the project drops bots)
 *  2. time → skew-corrected `timestamp`, `originalTimestamp`; out-of-window times flagged (rejected in `block`)
 *  3. redaction of `properties`, `traits`, `context` (keys and value patterns; ids are never redacted)
 *  4. IP → anonymised (or raw, when the project opts in) `context.ip`
 *  5. page URL and referrer → `path`, `host`, `search`, `referrerHost`, `referrerType`; UTM → `campaign`
 *  6. names and type-specific fields (api_request route/method/name, interaction text, performance unit/rating)
 *  7. ids and session → `id`, `messageId`, string ids, derived `sessionId`
 *
 * The input is never mutated; the output may share unchanged nested objects with it, so treat both as
 * immutable. State kept across calls — caches and derived-session last-seen times — is bounded.
 *
 * @example
 * const formatter = createEventFormatter()
 * const r = formatter.format(event, { projectId, receivedAt: new Date(), clientIp, settings, schema: null, warnings: [] })
 * if (r.kind === 'ok') await store.insertBatch([r.event], [])
 */
export function createEventFormatter(options: EventFormatterOptions = {}) {
  const generateId = options.generateId ?? createUuidV7Generator()
  const limits: TimeLimits = {
    futureToleranceMs: options.futureToleranceMs ?? DEFAULT_FUTURE_TOLERANCE_MS,
    maxAgeMs: options.maxAgeMs ?? DEFAULT_MAX_AGE_MS,
  }
  const historicalLimits: TimeLimits = { ...limits, maxAgeMs: Number.POSITIVE_INFINITY }
  const parseUserAgent = createUserAgentParser(options.userAgentCacheSize ?? DEFAULT_USER_AGENT_CACHE_SIZE)
  const enrichPage = createPageEnricher()
  const deriveSessionId = createSessionDeriver({
    salt: options.sessionSalt,
    timeoutMs: options.sessionTimeoutMs,
    maxVisitors: options.maxTrackedVisitors,
  })
  // One redactor per distinct (redactKeys, redactExemptKeys) pair of lists (projects' settings objects are
  // long-lived; settings stored before redactExemptKeys existed share one empty list).
  type Redactor = ReturnType<typeof createRedactor>
  const redactors = new WeakMap<readonly string[], WeakMap<readonly string[], Redactor>>()
  const redactorFor = (keys: readonly string[], exempt: readonly string[] = NO_KEYS) => {
    let byExempt = redactors.get(keys)
    if (byExempt === undefined) {
      byExempt = new WeakMap()
      redactors.set(keys, byExempt)
    }
    let r = byExempt.get(exempt)
    if (r === undefined) {
      r = createRedactor(keys, exempt)
      byExempt.set(exempt, r)
    }
    return r
  }
  let receivedMs = Number.NaN
  let lastRawIp: string | undefined
  let lastAnonIp: string | null = null
  let receivedIso = ''

  function format(input: EventCreate, ctx: FormatContext): FormatResult {
    const event = input as AnyEvent
    const settings = ctx.settings
    const sent = event.context

    // 1. user agent and bots
    const headerUa = sent === undefined || sent.library === undefined ? ctx.userAgent : undefined
    const ua = sent?.userAgent ?? headerUa ?? null
    const parsedUa = ua === null || ua === '' ? null : parseUserAgent(ua)
    if (parsedUa?.bot === true && settings.dropBots) return DROP_BOT

    // 2. time
    const ms = ctx.receivedAt.getTime()
    if (ms !== receivedMs) {
      const iso = formatIsoTime(ms)
      if (iso === null) throw new TypeError('FormatContext.receivedAt is not a valid date')
      receivedMs = ms
      receivedIso = iso
    }
    const violations: ValidationIssue[] = ctx.warnings.length === 0 ? [] : ctx.warnings.slice()
    const time = resolveTime(
      event,
      receivedMs,
      receivedIso,
      ctx.historical === true ? historicalLimits : limits,
    )
    if (time.issue !== null) {
      if (settings.enforcement === 'block' && time.issue.code !== 'format')
        return { kind: 'reject', errors: [time.issue] }
      violations.push(time.issue)
    }

    // 3. redaction
    const redact = redactorFor(settings.redactKeys, settings.redactExemptKeys)
    const context: MutableContext = sent === undefined ? {} : { ...redact(sent, KEEP_CONTEXT_KEYS) }
    let properties = event.properties === undefined ? {} : redact(event.properties)
    const traits = event.traits === undefined ? null : redact(event.traits)

    // 1 (cont.) — facts from the user agent go in after redaction: they are derived, not sent.
    if (parsedUa !== null) {
      if (sent?.userAgent === undefined) context.userAgent = ua!
      context.userAgentData = withClientHints(context.userAgentData, parsedUa.data, violations)
      if (parsedUa.bot) context.bot = true
    }

    // 4. IP
    const rawIp = typeof context.ip === 'string' ? context.ip : ctx.clientIp
    let anonIp: string | null = null
    if (rawIp !== undefined) {
      // Events of one request share the client IP: remember the last answer.
      if (rawIp !== lastRawIp) {
        lastRawIp = rawIp
        lastAnonIp = anonymiseIp(rawIp)
      }
      anonIp = lastAnonIp
      const stored = settings.storeRawIp ? normaliseRawIp(rawIp) : anonIp
      if (stored !== null) context.ip = stored
      else {
        delete context.ip
        if (typeof sent?.ip === 'string') {
          violations.push({
            path: '/context/ip',
            code: 'format',
            message: 'not an IP address; not stored',
            expected: 'IPv4 or IPv6 address',
          })
        }
      }
    }

    // 5. page, campaign, referrer
    if (context.page === undefined && event.type === 'page') {
      const page = pageFromProperties(properties)
      if (page !== null) context.page = page
    }
    if (context.page !== undefined) {
      const r = enrichPage(context.page, context.campaign, violations)
      context.page = r.page
      if (r.campaign !== null) context.campaign = r.campaign
    }

    // 6. names and type-specific fields
    const name = storedEventName(event, settings.nameCase)
    if (event.name !== undefined) {
      if (name === null && event.type !== 'page' && event.type !== 'screen' && event.type !== 'api_request') {
        return {
          kind: 'reject',
          errors: [
            {
              path: '/name',
              code: 'min_length',
              message: 'name is only whitespace',
              expected: 'a non-blank name',
            },
          ],
        }
      }
    }
    if (event.type === 'api_request') {
      const sentMethod = String(properties.method)
      const sentRoute = String(properties.route)
      const method = sentMethod.toUpperCase() as HttpMethod
      const route = normaliseRoute(sentRoute)
      if (method !== sentMethod || route !== sentRoute) properties = { ...properties, method, route }
    } else if (event.type === 'performance') {
      const metric = name ?? ''
      const unit = (properties.unit as PerformanceUnit | undefined) ?? defaultUnit(metric)
      const rating = properties.rating ?? rateMetric(metric, properties.value as number, unit)
      if (unit !== properties.unit || rating !== (properties.rating ?? null)) {
        properties = { ...properties, unit }
        if (rating !== null) properties.rating = rating
      }
    } else if (event.type === 'interaction') {
      const target = properties.target as Record<string, unknown> | undefined
      if (target !== undefined && typeof target.text === 'string') {
        const text = normaliseTargetText(target.text)
        if (text !== target.text) properties = { ...properties, target: { ...target, text } }
      }
    }

    // 7. ids and session
    const id = generateId()
    const userId = normaliseId(event.userId)
    const anonymousId = normaliseId(event.anonymousId)
    let sessionId = normaliseId(event.sessionId)
    if (sessionId === null && settings.deriveSessionId) {
      const visitor = visitorKey(anonymousId, userId, anonIp, ua)
      if (visitor !== null) sessionId = deriveSessionId(ctx.projectId, visitor, time.timestampMs)
    }

    return {
      kind: 'ok',
      event: {
        id,
        projectId: ctx.projectId,
        type: event.type,
        name,
        messageId: resolveMessageId(event.messageId, id),
        userId,
        anonymousId,
        sessionId,
        groupId: normaliseId(event.groupId),
        previousId: normaliseId(event.previousId),
        timestamp: time.timestamp,
        originalTimestamp: time.originalTimestamp,
        sentAt: time.sentAt,
        receivedAt: receivedIso,
        properties,
        traits,
        context,
        status: 'received',
        error: null,
        attempts: 0,
        tags: [],
        schema: ctx.schema,
        violations,
      },
    }
  }

  return { format }
}

export type EventFormatter = ReturnType<typeof createEventFormatter>

/**
 * The parsed user-agent facts over what the client sent as `context.userAgentData`: browsers send their
 * Client Hints there (Analytics.js: `brands`, `mobile`, `platform`), which were replaced without a word. The
 * client's keys stay; where one names a fact the parser found (`browser`, `os`, …) with another value, the
 * parsed one is stored and the client's noted as not stored. A value that is not an object is replaced, noted.
 */
function withClientHints(
  sent: unknown,
  parsed: UserAgentData,
  violations: ValidationIssue[],
): Record<string, unknown> {
  const facts = parsed as unknown as Record<string, unknown>
  if (sent === undefined) return facts
  if (sent === null || typeof sent !== 'object' || Array.isArray(sent)) {
    violations.push({
      path: '/context/userAgentData',
      code: 'type',
      message: `${JSON.stringify(sent)} not stored: replaced by the facts parsed from the user agent`,
      expected: 'object',
    })
    return facts
  }
  const merged: Record<string, unknown> = { ...(sent as Record<string, unknown>) }
  for (const [key, value] of Object.entries(facts)) {
    if (Object.hasOwn(merged, key) && !isDeepStrictEqual(merged[key], value)) {
      violations.push({
        path: `/context/userAgentData/${key}`,
        code: 'format',
        message: `${JSON.stringify(merged[key])} not stored: replaced by the value parsed from the user agent`,
      })
    }
    merged[key] = value
  }
  return merged
}
