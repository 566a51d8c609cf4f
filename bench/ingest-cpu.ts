/**
 * CPU per event of the ingest route, per thread, without the socket layer and the load generator: the
 * figure to compare before/after a change on a shared machine, where bench/http's rates swing with the
 * neighbours. Builds the server as `npm start` does (SQLite, write worker), sends batches of 100 corpus
 * events with fresh messageIds through Fastify's `inject` (8 in flight), and reports CPU ms per 1,000 events
 * of the main thread and of the write worker (Linux /proc per-thread times), against the same bodies sent
 * to a route that only parses them, measured in the same run.
 *
 *   npx tsx bench/ingest-cpu.ts [requests=400]
 *   npx tsx bench/ingest-cpu.ts 400 --profile /tmp/main.cpuprofile   # steady-state main-thread profile
 *   npx tsx bench/ingest-cpu.ts 20000 --single   # one event per request (a bare event body), 10 in flight
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '../src/app/create-app.js'
import { loadConfig } from '../src/config/config.js'
import { useIngestBodyParser } from '../src/http/plugins/ingest-body.js'
import { generateCorpus } from './corpus.js'

const requests = Number(process.argv[2] ?? 400)
const profileAt =
  process.argv.indexOf('--profile') > 0 ? process.argv[process.argv.indexOf('--profile') + 1] : null
// --single: what browser trackers send — one bare event per request, 10 clients (bench/http's single run).
const single = process.argv.includes('--single')
const PER_REQUEST = single ? 1 : 100
const IN_FLIGHT = single ? 10 : 8
const WRITE_KEY = 'tly_w_bench-write-key-000000000000'

/** CPU ms per thread of this process, keyed `<tid> <name>` (utime + stime, clock ticks of 10 ms). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>()
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    out.set(`${tid} ${name}`, (Number(fields[11]) + Number(fields[12])) * 10)
  }
  return out
}

const lines = generateCorpus(Math.max(PER_REQUEST * 50, 500), 42)
const bodies = Array.from({ length: 50 }, (_, b) => lines.slice(b * PER_REQUEST, (b + 1) * PER_REQUEST))
const freshId = (line: string) => line.replace(/"messageId":"[^"]*"/, `"messageId":"${randomUUID()}"`)
/** A body with fresh messageIds, as real SDKs send (nothing skipped as a duplicate). */
const body = single
  ? (i: number) => freshId(lines[i % lines.length])
  : (i: number) => `{"events":[${bodies[i % bodies.length].map(freshId).join(',')}]}`

const dir = mkdtempSync(join(tmpdir(), 'tally-ingest-cpu-'))
const app = await createApp(
  loadConfig({
    TALLY_DATABASE_URL: `sqlite:${join(dir, 'tally.db')}`,
    TALLY_LOG_LEVEL: 'warn',
    TALLY_RATE_LIMIT_MAX: '0',
    TALLY_DOCS: 'false',
    TALLY_WRITE_KEY: WRITE_KEY,
    TALLY_PORT: '0',
  }),
)
await app.server.register(async function parseOnly(scope) {
  useIngestBodyParser(scope, 5 * 1024 * 1024)
  scope.post('/bench/parse', async (request) => {
    const parsed = request.body as { events?: unknown[] }
    return { parsed: parsed.events?.length ?? 1 }
  })
})
await app.server.ready()

async function run(url: string, n: number): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < n) {
      const i = next++
      const res = await app.server.inject({
        method: 'POST',
        url,
        headers: { authorization: `Bearer ${WRITE_KEY}`, 'content-type': 'application/json' },
        payload: body(i),
      })
      if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 200)}`)
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
}

/** CPU ms per 1,000 events by thread over `n` requests to `url`: [main, busiest other thread, all]. */
async function measure(url: string, n: number): Promise<[number, number, number]> {
  const before = threadCpu()
  const t0 = process.cpuUsage()
  await run(url, n)
  const total = process.cpuUsage(t0)
  const after = threadCpu()
  const per1k = (ms: number) => (ms / (n * PER_REQUEST)) * 1000
  const deltas = [...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const)
  const main = deltas.find(([k]) => k.startsWith(`${process.pid} `))?.[1] ?? 0
  const other = Math.max(0, ...deltas.filter(([k]) => !k.startsWith(`${process.pid} `)).map(([, v]) => v))
  return [per1k(main), per1k(other), per1k((total.user + total.system) / 1000)]
}

const warmUp = single ? 3000 : 60
await run('/api/v1/events', warmUp) // warm-up: JIT, caches, the worker started
await run('/bench/parse', warmUp)
const session = profileAt ? new Session() : null
if (session) {
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
}
const ingest = await measure('/api/v1/events', requests)
if (session) {
  const { profile } = await session.post('Profiler.stop')
  writeFileSync(profileAt!, JSON.stringify(profile))
}
const parse = await measure('/bench/parse', requests)
await app.close()
rmSync(dir, { recursive: true, force: true })

console.log(`${requests} requests × ${PER_REQUEST} events, ${IN_FLIGHT} in flight; CPU ms per 1,000 events`)
console.log('route                         main thread   write worker   whole process')
for (const [name, [main, worker, all]] of [
  ['parse only', parse],
  ['POST /api/v1/events → SQLite', ingest],
] as const) {
  console.log(
    `${name.padEnd(30)}${main.toFixed(1).padStart(11)}${worker.toFixed(1).padStart(15)}${all.toFixed(1).padStart(16)}`,
  )
}
console.log(`main thread beyond parsing: ${(ingest[0] - parse[0]).toFixed(1)} ms per 1,000 events`)
