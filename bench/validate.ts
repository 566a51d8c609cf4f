/**
 * bench/validate: what validation costs relative to JSON.parse, on one core.
 *
 *   npx tsx bench/validate.ts [events=100000] [repetitions=7]
 *
 * (a) JSON.parse of each NDJSON line — the ceiling;
 * (b) JSON.parse + EventValidator.validate (built-in model, no tracking plan) — the target is b/a >= 0.6;
 * (c) as (b) through validateJson (the CLI path: size known from the text);
 * (e) as (b) with the facts a route has once per request body (no `\u` escape, a size bound);
 * (d) as (b) with a tracking plan in warn mode (schemas for the common track events and web vitals).
 * Passes alternate, so drift (thermal, GC) hits every variant alike; each figure is the median.
 * Time is this process's CPU time (user + system), not wall-clock: on a shared 2-core machine other
 * processes steal the core, and CPU time is what validation costs.
 */
import { TrackingPlan } from '../src/tracking-plan/tracking-plan.js'
import { EventValidator } from '../src/validate/event-validator.js'
import { generateCorpus } from './corpus.js'

const n = Number(process.argv[2] ?? 100_000)
const reps = Number(process.argv[3] ?? 7)

const lines = generateCorpus(n, 42)
const bytes = lines.reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0)
const validator = new EventValidator()

const plan = new TrackingPlan('bench')
plan.register({
  eventType: 'track',
  eventName: 'Product Viewed',
  version: '1-0-0',
  jsonSchema: {
    type: 'object',
    required: ['product_id', 'price'],
    properties: {
      product_id: { type: 'string' },
      price: { type: 'number', minimum: 0 },
      currency: { type: 'string', enum: ['EUR', 'USD'] },
    },
  },
})
plan.register({
  eventType: 'performance',
  eventName: '*',
  version: '1-0-0',
  jsonSchema: { type: 'object', properties: { value: { type: 'number', minimum: 0 } } },
})

let sink = 0
const variants: Record<string, () => number> = {
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
  'c  validateJson': () => {
    let ok = 0
    for (const line of lines) if (validator.validateJson(line).ok) ok++
    return ok
  },
  'e  validate + body facts': () => {
    // As b, with what a route knows once per request body (here computed per line, so it is charged in
    // full): no `\u` escape in well-formed text, and an upper bound on its size.
    let ok = 0
    for (const line of lines) {
      const noUnicodeEscapes = line.isWellFormed() && !line.includes('\\u')
      if (validator.validate(JSON.parse(line), { noUnicodeEscapes, sourceTextBytes: line.length * 3 }).ok)
        ok++
    }
    return ok
  },
  'd  + tracking plan (warn)': () => {
    let ok = 0
    for (const line of lines)
      if (validator.validate(JSON.parse(line), { trackingPlan: plan, enforcement: 'warn' }).ok) ok++
    return ok
  },
}

const times: Record<string, number[]> = {}
for (const name of Object.keys(variants)) {
  const ok = variants[name]() // warm-up, and a correctness check: the corpus is valid
  if (ok !== n) throw new Error(`${name}: only ${ok} of ${n} events passed`)
  times[name] = []
}
for (let r = 0; r < reps; r++) {
  for (const [name, run] of Object.entries(variants)) {
    const t0 = process.cpuUsage()
    sink += run()
    const dt = process.cpuUsage(t0)
    times[name].push((dt.user + dt.system) / 1e6)
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const baseline = median(times['a  JSON.parse'])
console.log(
  `corpus: ${n} events, ${(bytes / 1e6).toFixed(1)} MB, avg ${Math.round(bytes / n)} B/event; median of ${reps}, CPU time`,
)
console.log('variant                      events/s     MB/s   ratio vs a')
for (const [name, ts] of Object.entries(times)) {
  const s = median(ts)
  console.log(
    `${name.padEnd(27)} ${Math.round(n / s)
      .toLocaleString('en-US')
      .padStart(9)} ${(bytes / 1e6 / s).toFixed(1).padStart(8)} ${(baseline / s).toFixed(2).padStart(9)}`,
  )
}
if (sink < 0) console.log(sink)
