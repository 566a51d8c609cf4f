/**
 * bench/pipeline: what validate + enrich cost relative to JSON.parse, on one core.
 *
 *   npx tsx bench/pipeline.ts [events=100000] [repetitions=7]
 *
 * Same corpus as bench/validate (generateCorpus(n, 42)). Whole-path variants, passes alternating so drift
 * hits each alike, each figure the median of the repetitions:
 *   (a) JSON.parse of each NDJSON line — the ceiling;
 *   (b) JSON.parse + EventValidator.validate;
 *   (c) JSON.parse + validate + EventFormatter.format — the target is c/a >= 0.5;
 *   (d) as (c) through validateJson (the text path: size and escape facts known from the text);
 *   (e) JSON.parse + the compiled Ajv schema alone (no hostile-input walk, no cross-field rules, no
 *       result): the least any Ajv-based validation of the built-in model costs, for scale.
 * Then each enrichment step alone over the already-validated events (what it costs per event, and what
 * share of format() it is), so a change in one step shows where it went.
 *
 * Times are this process's CPU time (user + system), not wall time: the machine is shared, and CPU time
 * is what one core can do, less disturbed by other processes. GC helper threads count too.
 */
import { v7 as uuidv7 } from 'uuid'
import { parseUtmParams } from '../src/enrich/campaign.js'
import { createEventFormatter } from '../src/enrich/event-formatter.js'
import { createUuidV7Generator } from '../src/enrich/ids.js'
import { anonymiseIp } from '../src/enrich/ip.js'
import { normaliseName } from '../src/enrich/names.js'
import { createPageEnricher } from '../src/enrich/page.js'
import { createRedactor } from '../src/enrich/redact.js'
import { createReferrerClassifier } from '../src/enrich/referrer.js'
import { createSessionDeriver } from '../src/enrich/session.js'
import { DEFAULT_FUTURE_TOLERANCE_MS, DEFAULT_MAX_AGE_MS, resolveTime } from '../src/enrich/time.js'
import type { FormatContext } from '../src/enrich/types.js'
import { splitUrl } from '../src/enrich/url-split.js'
import { createUserAgentParser } from '../src/enrich/user-agent.js'
import type { EventCreate } from '../src/schema/event-create.js'
import { DEFAULT_PROJECT_SETTINGS } from '../src/store/project-types.js'
import { getCompiledEventSchema } from '../src/validate/compile.js'
import { EventValidator } from '../src/validate/event-validator.js'
import { generateCorpus } from './corpus.js'

const n = Number(process.argv[2] ?? 100_000)
const reps = Number(process.argv[3] ?? 7)

const lines = generateCorpus(n, 42)
const bytes = lines.reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0)
const validator = new EventValidator()
const receivedAt = new Date('2026-11-27T12:00:00.000Z')
const ctx: FormatContext = {
  projectId: 'bench',
  receivedAt,
  clientIp: '203.0.113.77',
  settings: { ...DEFAULT_PROJECT_SETTINGS },
  schema: null,
  warnings: [],
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
let sink = 0

function timeVariants(variants: Record<string, () => number>, expectOk: number | null) {
  const times: Record<string, number[]> = {}
  for (const [name, run] of Object.entries(variants)) {
    const ok = run() // warm-up and correctness check
    if (expectOk !== null && ok !== expectOk)
      throw new Error(`${name}: only ${ok} of ${expectOk} events passed`)
    times[name] = []
  }
  for (let r = 0; r < reps; r++) {
    for (const [name, run] of Object.entries(variants)) {
      const t0 = process.cpuUsage()
      sink += run()
      const t = process.cpuUsage(t0)
      times[name].push((t.user + t.system) / 1e6)
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]))
}

const formatter = createEventFormatter()
const ajvOnly = getCompiledEventSchema().validate

// ── whole path ─────────────────────────────────────────────────────────────────────────────────────
const whole = timeVariants(
  {
    'a  JSON.parse': () => {
      let ok = 0
      for (const line of lines) if (JSON.parse(line).type) ok++
      return ok
    },
    'b  parse + validate': () => {
      let ok = 0
      for (const line of lines) if (validator.validate(JSON.parse(line)).ok) ok++
      return ok
    },
    'c  parse + validate + format': () => {
      // One long-lived formatter, as in the server: after the warm-up pass its caches are warm.
      let ok = 0
      for (const line of lines) {
        const v = validator.validate(JSON.parse(line))
        if (v.ok && formatter.format(v.event, ctx).kind !== 'reject') ok++
      }
      return ok
    },
    'd  validateJson + format': () => {
      // As c, from the text: what a route that keeps the body text can do (the size is known and a text
      // without `\u` escapes spares the per-string NUL/surrogate checks; see EventValidator.validateJson).
      let ok = 0
      for (const line of lines) {
        const v = validator.validateJson(line)
        if (v.ok && formatter.format(v.event, ctx).kind !== 'reject') ok++
      }
      return ok
    },
    'e  parse + Ajv schema alone': () => {
      let ok = 0
      for (const line of lines) if (ajvOnly(JSON.parse(line))) ok++
      return ok
    },
  },
  n,
)
const baseline = whole['a  JSON.parse']
console.log(
  `corpus: ${n} events, ${(bytes / 1e6).toFixed(1)} MB, avg ${Math.round(bytes / n)} B/event; median of ${reps}`,
)
console.log('variant                          events/s     MB/s   µs/event  ratio vs a')
for (const [name, s] of Object.entries(whole)) {
  console.log(
    `${name.padEnd(31)} ${Math.round(n / s)
      .toLocaleString('en-US')
      .padStart(
        9,
      )} ${(bytes / 1e6 / s).toFixed(1).padStart(8)} ${((s / n) * 1e6).toFixed(2).padStart(10)} ${(baseline / s).toFixed(2).padStart(11)}`,
  )
}

// ── each step alone, over validated events ──────────────────────────────────────────────────────────
type Loose = EventCreate & {
  name?: string
  properties?: Record<string, unknown>
  context?: Record<string, any>
  anonymousId?: string | number
}
const events = lines.map((l) => {
  const v = validator.validate(JSON.parse(l))
  if (!v.ok) throw new Error('corpus event invalid')
  return v.event as Loose
})
const parseUa = createUserAgentParser()
const redact = createRedactor()
const keepUserAgent = new Set(['userAgent'])
const classify = createReferrerClassifier()
const enrichPage = createPageEnricher()
const generateUuid = createUuidV7Generator()
const limits = { futureToleranceMs: DEFAULT_FUTURE_TOLERANCE_MS, maxAgeMs: DEFAULT_MAX_AGE_MS }
const receivedMs = receivedAt.getTime()
const receivedIso = receivedAt.toISOString()

const steps = timeVariants(
  {
    'format() — all steps': () => {
      let c = 0
      for (const e of events) if (formatter.format(e, ctx).kind === 'ok') c++
      return c
    },
    'user agent (cached) + isbot': () => {
      let c = 0
      for (const e of events) if (e.context?.userAgent && parseUa(e.context.userAgent).bot) c++
      return c
    },
    'time (Date.parse ×2, skew, ISO)': () => {
      let c = 0
      for (const e of events) c += resolveTime(e, receivedMs, receivedIso, limits).timestamp.length
      return c
    },
    'redaction (properties+context)': () => {
      let c = 0
      for (const e of events) {
        if (redact(e.properties) !== e.properties) c++
        if (redact(e.context, keepUserAgent) !== e.context) c++
      }
      return c
    },
    'page URL + UTM + referrer (cached)': () => {
      let c = 0
      for (const e of events) {
        const page = e.context?.page
        if (page !== undefined && enrichPage(page, e.context?.campaign, []).campaign !== null) c++
      }
      return c
    },
    'page URL + UTM + referrer (uncached)': () => {
      let c = 0
      for (const e of events) {
        const page = e.context?.page
        if (page === undefined) continue
        const u = page.url === undefined ? null : splitUrl(page.url)
        if (u !== null && parseUtmParams(u.search) !== null) c++
        const r = page.referrer ? splitUrl(page.referrer) : null
        if (classify(r?.hostname ?? null, u?.hostname ?? null) === 'search') c++
      }
      return c
    },
    'IP anonymisation': () => {
      let c = 0
      for (const e of events) c += anonymiseIp(e.context?.ip ?? '203.0.113.77')!.length
      return c
    },
    'name normalisation': () => {
      let c = 0
      for (const e of events) if (e.name !== undefined) c += normaliseName(e.name, 'as-is')!.length
      return c
    },
    'id: uuid v7() as is': () => {
      let c = 0
      for (let i = 0; i < events.length; i++) c += uuidv7().length
      return c
    },
    'id: uuid v7, 4 KB random pool': () => {
      let c = 0
      for (let i = 0; i < events.length; i++) c += generateUuid().length
      return c
    },
    'session derivation': () => {
      const derive = createSessionDeriver({ salt: 'bench' })
      let c = 0
      for (const e of events) c += derive('bench', String(e.anonymousId), receivedMs).length
      return c
    },
    'object spread ×2 (context, page)': () => {
      let c = 0
      for (const e of events) {
        const ctxCopy = { ...e.context }
        if (ctxCopy.page !== undefined) ctxCopy.page = { ...ctxCopy.page }
        c += ctxCopy.page === undefined ? 0 : 1
      }
      return c
    },
  },
  null,
)
const formatTime = steps['format() — all steps']
console.log('\nstep alone (over validated events)     µs/event   events/s  share of format()')
for (const [name, s] of Object.entries(steps)) {
  console.log(
    `${name.padEnd(36)} ${((s / n) * 1e6).toFixed(3).padStart(9)} ${Math.round(n / s)
      .toLocaleString('en-US')
      .padStart(11)} ${`${Math.round((s / formatTime) * 100)}%`.padStart(10)}`,
  )
}
if (sink < 0) console.log(sink)
