import { createHash } from 'node:crypto'
import { toDefaultUnit } from '../../enrich/performance.js'
import { PERFORMANCE_UNITS, type PerformanceUnit } from '../../schema/event-types.js'
import { HyperLogLog } from '../sketch/hyper-log-log.js'
import { LogHistogram } from '../sketch/log-histogram.js'
import { HOUR_MS } from '../time/time-buckets.js'

/** The fields of an event the rollups read. `AnalyticsEvent` satisfies it; so does a raw-scan row. */
export interface RollupInput {
  projectId: string
  type: string
  name: string | null
  /** ISO-8601 string or epoch milliseconds. */
  timestamp: string | number
  userId: string | null
  anonymousId: string | null
  sessionId: string | null
  properties: Record<string, unknown> | null
}

export interface CountAgg {
  projectId: string
  hour: number
  type: string
  name: string
  count: number
}
export interface UniquesAgg {
  projectId: string
  hour: number
  users: HyperLogLog
  sessions: HyperLogLog
}
export interface PerformanceAgg {
  projectId: string
  hour: number
  metric: string
  count: number
  good: number
  needsImprovement: number
  poor: number
  hist: LogHistogram
}
export interface ApiAgg {
  projectId: string
  hour: number
  method: string
  route: string
  count: number
  status4xx: number
  status5xx: number
  hist: LogHistogram
}
export interface InteractionAgg {
  projectId: string
  hour: number
  action: string
  target: string
  count: number
  users: HyperLogLog
}

/** A batch of events summarised in memory, keyed like the rollup tables. */
export interface RollupAggregate {
  counts: Map<string, CountAgg>
  uniques: Map<string, UniquesAgg>
  performance: Map<string, PerformanceAgg>
  api: Map<string, ApiAgg>
  interactions: Map<string, InteractionAgg>
}

export function emptyAggregate(): RollupAggregate {
  return {
    counts: new Map(),
    uniques: new Map(),
    performance: new Map(),
    api: new Map(),
    interactions: new Map(),
  }
}

/** The user an event counts for: `userId`, else `anonymousId`. */
export function userKey(e: Pick<RollupInput, 'userId' | 'anonymousId'>): string | null {
  return e.userId ?? e.anonymousId ?? null
}

/**
 * Most UTF-8 bytes of a route or an interaction target in a rollup key. PostgreSQL refuses an index entry
 * over 2,704 bytes: a 2,041-character route of CJK text (6 KB, within the 2,048 characters an event may
 * send) failed its whole group commit with 500, and the SDKs retried it forever.
 */
export const MAX_ROLLUP_KEY_BYTES = 1024
/** What a shortened key ends with: `…` and 16 hex digits of the whole text's SHA-256 (3 + 16 bytes). */
const SHORTENED_SUFFIX_BYTES = 19

/**
 * `text` as a rollup key: unchanged up to MAX_ROLLUP_KEY_BYTES, else its longest prefix that fits (whole
 * characters) + `…` + a digest of the whole, so two long routes that share a prefix stay apart. The same on
 * every store and for the raw edge hours, which go through this too.
 */
export function boundedRollupKey(text: string): string {
  // A UTF-16 unit is at most 3 bytes of UTF-8 (a surrogate pair, two units, is 4).
  if (text.length * 3 <= MAX_ROLLUP_KEY_BYTES) return text
  if (Buffer.byteLength(text) <= MAX_ROLLUP_KEY_BYTES) return text
  const budget = MAX_ROLLUP_KEY_BYTES - SHORTENED_SUFFIX_BYTES
  let bytes = 0
  let end = 0
  for (const ch of text) {
    const size = Buffer.byteLength(ch)
    if (bytes + size > budget) break
    bytes += size
    end += ch.length
  }
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 16)
  return `${text.slice(0, end)}…${digest}`
}

/**
 * How an interaction target is named in the rollups: its selector, else `tag#id`, else `tag`, else `''`
 * (bounded: boundedRollupKey).
 */
export function interactionTargetKey(properties: Record<string, unknown> | null): string {
  const t = properties?.target
  if (!t || typeof t !== 'object') return ''
  const { selector, tag, id } = t as Record<string, unknown>
  if (typeof selector === 'string' && selector !== '') return boundedRollupKey(selector)
  const tagName = typeof tag === 'string' ? tag : ''
  return boundedRollupKey(typeof id === 'string' && id !== '' ? `${tagName}#${id}` : tagName)
}

const SEP = '\u0000'

/**
 * The value a statistic aggregates for a performance event: `value` in the metric's default unit (seconds
 * become milliseconds, `toDefaultUnit`), or null when it is not a finite number. Every reader of performance
 * values goes through this — the rollups (ingest, rebuild, a query's raw edge hours) and the raw scans — so
 * the values of one metric are ranked in one unit.
 */
export function performanceValue(metric: string, value: unknown, unit: unknown): number | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null
  const known = PERFORMANCE_UNITS.includes(unit as PerformanceUnit) ? (unit as PerformanceUnit) : undefined
  return toDefaultUnit(metric, value, known)
}

/**
 * Adds `events` to `agg` (a fresh one by default), grouping by project and hour. Pure and synchronous;
 * the same code summarises an ingest batch, a rollup rebuild and the raw edges of a query range, so the
 * three always agree.
 */
export function aggregateEvents(
  events: Iterable<RollupInput>,
  agg: RollupAggregate = emptyAggregate(),
): RollupAggregate {
  for (const e of events) {
    const ms = typeof e.timestamp === 'number' ? e.timestamp : Date.parse(e.timestamp)
    if (!Number.isFinite(ms)) continue
    const hour = Math.floor(ms / HOUR_MS)
    const ph = `${e.projectId}${SEP}${hour}`
    const name = e.name ?? ''

    const ck = `${ph}${SEP}${e.type}${SEP}${name}`
    const c = agg.counts.get(ck)
    if (c) c.count++
    else agg.counts.set(ck, { projectId: e.projectId, hour, type: e.type, name, count: 1 })

    const user = userKey(e)
    const session = e.sessionId ?? null
    if (user !== null || session !== null) {
      let u = agg.uniques.get(ph)
      if (!u) {
        u = { projectId: e.projectId, hour, users: new HyperLogLog(), sessions: new HyperLogLog() }
        agg.uniques.set(ph, u)
      }
      if (user !== null) u.users.add(user)
      if (session !== null) u.sessions.add(session)
    }

    const props = e.properties ?? {}
    if (e.type === 'performance') addPerformance(agg, e.projectId, hour, ph, name, props)
    else if (e.type === 'api_request') addApi(agg, e.projectId, hour, ph, props)
    else if (e.type === 'interaction') addInteraction(agg, e.projectId, hour, ph, name, props, user)
  }
  return agg
}

function addPerformance(
  agg: RollupAggregate,
  projectId: string,
  hour: number,
  ph: string,
  metric: string,
  props: Record<string, unknown>,
) {
  const value = performanceValue(metric, props.value, props.unit)
  if (value === null) return
  const key = `${ph}${SEP}${metric}`
  let p = agg.performance.get(key)
  if (!p) {
    p = { projectId, hour, metric, count: 0, good: 0, needsImprovement: 0, poor: 0, hist: new LogHistogram() }
    agg.performance.set(key, p)
  }
  p.count++
  p.hist.add(value)
  if (props.rating === 'good') p.good++
  else if (props.rating === 'needs-improvement') p.needsImprovement++
  else if (props.rating === 'poor') p.poor++
}

function addApi(
  agg: RollupAggregate,
  projectId: string,
  hour: number,
  ph: string,
  props: Record<string, unknown>,
) {
  const { method, statusCode, durationMs } = props
  if (typeof method !== 'string' || typeof props.route !== 'string') return
  const route = boundedRollupKey(props.route)
  const key = `${ph}${SEP}${method}${SEP}${route}`
  let a = agg.api.get(key)
  if (!a) {
    a = { projectId, hour, method, route, count: 0, status4xx: 0, status5xx: 0, hist: new LogHistogram() }
    agg.api.set(key, a)
  }
  a.count++
  if (typeof statusCode === 'number') {
    if (statusCode >= 400 && statusCode < 500) a.status4xx++
    else if (statusCode >= 500 && statusCode < 600) a.status5xx++
  }
  if (typeof durationMs === 'number') a.hist.add(durationMs)
}

function addInteraction(
  agg: RollupAggregate,
  projectId: string,
  hour: number,
  ph: string,
  action: string,
  props: Record<string, unknown>,
  user: string | null,
) {
  const target = interactionTargetKey(props)
  const key = `${ph}${SEP}${action}${SEP}${target}`
  let i = agg.interactions.get(key)
  if (!i) {
    i = { projectId, hour, action, target, count: 0, users: new HyperLogLog() }
    agg.interactions.set(key, i)
  }
  i.count++
  if (user !== null) i.users.add(user)
}
