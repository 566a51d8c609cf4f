/**
 * What handing a group commit to the SQLite write worker costs each thread, per 1,000 events, for the two
 * ways of sending it (src/store/sqlite/write-worker-protocol.ts):
 *  - json (before): `JSON.stringify(events)` on the main thread; `JSON.parse` and the row encoding
 *    (`encodeBatch`: the JSON columns' own `JSON.stringify`, times as numbers) in the worker;
 *  - encoded (now): `encodeBatch` on the main thread and a structured clone of its flat arrays
 *    (`v8.serialize` here, `v8.deserialize` there: what `postMessage` does).
 * Same formatted events (bench/corpus, validated and formatted as the server does), same run; CPU time.
 *
 *   npx tsx bench/worker-encoding.ts [events=1000] [repetitions=300]
 */
import { deserialize, serialize } from 'node:v8'
import { createEventFormatter } from '../src/enrich/event-formatter.js'
import type { FormatContext } from '../src/enrich/types.js'
import type { AnalyticsEvent } from '../src/schema/analytics-event.js'
import { encodeBatch } from '../src/store/event-rows.js'
import { DEFAULT_PROJECT_SETTINGS } from '../src/store/project-types.js'
import { SqliteStoreDialect } from '../src/store/sqlite/sqlite-dialect.js'
import { EventValidator } from '../src/validate/event-validator.js'
import { generateCorpus } from './corpus.js'

const n = Number(process.argv[2] ?? 1000)
const reps = Number(process.argv[3] ?? 300)

const validator = new EventValidator()
const formatter = createEventFormatter()
const ctx: FormatContext = {
  projectId: 'bench',
  receivedAt: new Date('2026-11-27T12:00:00.000Z'),
  clientIp: '203.0.113.77',
  settings: { ...DEFAULT_PROJECT_SETTINGS },
  schema: null,
  warnings: [],
}
const events: AnalyticsEvent[] = generateCorpus(n, 42).map((line) => {
  const v = validator.validate(JSON.parse(line))
  if (!v.ok) throw new Error('corpus event invalid')
  const r = formatter.format(v.event, ctx)
  if (r.kind !== 'ok') throw new Error('corpus event not formatted')
  return r.event
})
const dialect = new SqliteStoreDialect({ filename: ':memory:' })

/** CPU ms per 1,000 events of `fn` (median of 5 rounds of `reps` calls after a warm-up). */
function msPer1k(fn: () => unknown): number {
  for (let i = 0; i < 20; i++) fn()
  const rounds: number[] = []
  for (let r = 0; r < 5; r++) {
    const t0 = process.cpuUsage()
    for (let i = 0; i < reps / 5; i++) fn()
    const t = process.cpuUsage(t0)
    rounds.push((t.user + t.system) / 1000 / (reps / 5))
  }
  return (rounds.sort((a, b) => a - b)[2] * 1000) / n
}

const text = JSON.stringify(events)
const parsed = JSON.parse(text) as AnalyticsEvent[]
const cloned = serialize(encodeBatch(dialect, events, []))

const json = {
  main: msPer1k(() => JSON.stringify(events)),
  worker: msPer1k(() => encodeBatch(dialect, JSON.parse(text) as AnalyticsEvent[], [])),
}
const encoded = {
  main: msPer1k(() => serialize(encodeBatch(dialect, events, []))),
  worker: msPer1k(() => deserialize(cloned)),
}
if (parsed.length !== n) throw new Error('round trip lost events')

console.log(`${n} formatted events per group commit; CPU ms per 1,000 events (median of 5 rounds)`)
console.log('protocol      main thread   worker   both')
for (const [name, t] of Object.entries({ json, encoded })) {
  console.log(
    `${name.padEnd(12)} ${t.main.toFixed(2).padStart(12)} ${t.worker.toFixed(2).padStart(8)} ${(t.main + t.worker).toFixed(2).padStart(6)}`,
  )
}
console.log(
  `worker: encoded / json = ${(encoded.worker / json.worker).toFixed(2)}×; both threads: ${((encoded.main + encoded.worker) / (json.main + json.worker)).toFixed(2)}×`,
)
