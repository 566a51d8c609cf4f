/**
 * HTTP ingest throughput, measured end to end over a real socket with autocannon.
 *
 * The server runs in a child process (`--serve`), the load generator in this one, so the two share the
 * machine's two cores. In the same run, against the same server:
 *  1. parse-only route: the ingest body parser (same bytes, same content type) and nothing else — the baseline;
 *  2. POST /api/v1/events with batches of 100 realistic events (auth, validate, enrich, group commit to SQLite);
 *  3. single-event POST /api/v1/events requests from 10 connections (what browser trackers send), after the
 *     same single-event body sent to the parse-only route (its per-request baseline); `--single-connections
 *     10,100` adds runs with more clients.
 * Also measured first: the disk's durable-write latency (write + fdatasync) where the database lives. An
 * event is acknowledged only after the commit holding it is on disk, so N clients that each wait for their
 * answer (autocannon's connections) get at most N events per fsync: N / latency is the single-event
 * ceiling of any durable store on this disk, printed beside the result.
 * Every request carries fresh random messageIds, as real SDKs do, so nothing is skipped as a duplicate.
 *
 *   npx tsx bench/http.ts [--duration 10] [--connections 32] [--only parse,batch,single] [--postgres URL]
 *                         [--single-connections 10,100]
 *   BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npx tsx bench/http.ts --only batch
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import {
  closeSync,
  fdatasyncSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { generateCorpus } from './corpus.js'

// autocannon ships no types; this is the part of its API used here.
interface AutocannonRequest {
  body?: string
  [key: string]: unknown
}
interface AutocannonResult {
  requests: { average: number; total: number }
  latency: { p50: number; p99: number }
  /** Seconds the run lasted. */
  duration: number
  /** Responses by status class. */
  '2xx': number
  non2xx: number
  errors: number
}
const autocannon = createRequire(import.meta.url)('autocannon') as (options: {
  url: string
  method: string
  connections: number
  duration: number
  headers: Record<string, string>
  requests: { setupRequest: (req: AutocannonRequest) => AutocannonRequest }[]
}) => Promise<AutocannonResult>

const WRITE_KEY = 'tly_w_bench-write-key-000000000000'
const READ_KEY = 'tly_r_bench-read-key-0000000000000'

async function serve(dbUrl: string): Promise<void> {
  const { loadConfig } = await import('../src/config/config.js')
  const { createApp } = await import('../src/app/create-app.js')
  const { useIngestBodyParser } = await import('../src/http/plugins/ingest-body.js')
  const config = loadConfig({
    TALLY_DATABASE_URL: dbUrl,
    TALLY_PORT: '0',
    TALLY_LOG_LEVEL: 'warn',
    TALLY_RATE_LIMIT_MAX: '0',
    TALLY_DOCS: 'false',
    TALLY_WRITE_KEY: WRITE_KEY,
    TALLY_READ_KEY: READ_KEY,
    // Passed through so runs can compare settings: TALLY_SQLITE_SYNCHRONOUS, TALLY_SQLITE_WRITE_WORKER.
    TALLY_SQLITE_SYNCHRONOUS: process.env.TALLY_SQLITE_SYNCHRONOUS,
    TALLY_SQLITE_WRITE_WORKER: process.env.TALLY_SQLITE_WRITE_WORKER,
  })
  // BENCH_MAX_WAIT_MS overrides the group-commit wait, to compare settings in otherwise equal runs.
  // BENCH_WRITE_CONCURRENCY overrides the store's group commits in flight (PostgreSQL default 4, SQLite 1).
  // BENCH_MAX_GROUP_EVENTS overrides the largest group commit (default 1,000 events).
  const wait = process.env.BENCH_MAX_WAIT_MS
  const concurrency = process.env.BENCH_WRITE_CONCURRENCY
  const maxGroup = process.env.BENCH_MAX_GROUP_EVENTS
  const app = await createApp(config, {
    ingest: {
      ...(wait === undefined ? {} : { maxWaitMs: Number(wait) }),
      ...(concurrency === undefined ? {} : { writeConcurrency: Number(concurrency) }),
      ...(maxGroup === undefined ? {} : { maxGroupEvents: Number(maxGroup) }),
    },
  })
  await app.server.register(async function parseOnly(scope) {
    useIngestBodyParser(scope, config.bodyLimit)
    // The server process's CPU time (all threads: main and the SQLite write worker), to report CPU per event
    // next to events/s — on a shared machine the CPU cost varies far less than the wall-clock rate.
    scope.get('/bench/cpu', async () => ({ ...process.cpuUsage(), threads: threadCpu() }))
    scope.post('/bench/parse', async (request) => {
      const body = request.body as { events?: unknown[] }
      return { parsed: Array.isArray(body.events) ? body.events.length : 1 }
    })
  })
  const url = await app.listen()
  process.stdout.write(`LISTENING ${url}\n`)
  process.on('SIGTERM', () => {
    app.close().then(() => process.exit(0))
  })
}

interface Run {
  name: string
  eventsPerRequest: number
  requestsPerSec: number
  eventsPerSec: number
  p50: number
  p99: number
  non2xx: number
  errors: number
  /** Server CPU (user + system, all threads) per 1,000 events, ms. */
  cpuMsPer1k: number
  /** The three busiest server threads, CPU ms per 1,000 events each. */
  threads: string
}

/** Linux: CPU ms per thread of this process (`/proc/self/task/<tid>/stat`), keyed `<tid> <name>`. */
function threadCpu(): Record<string, number> {
  const out: Record<string, number> = {}
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // utime and stime are fields 14 and 15 of stat (11 and 12 after the name), in clock ticks (100/s).
      out[`${tid} ${name}`] = (Number(fields[11]) + Number(fields[12])) * 10
    }
  } catch {
    // not Linux: per-thread figures are omitted
  }
  return out
}

interface CpuSample {
  totalMs: number
  threads: Record<string, number>
}

async function serverCpu(base: string): Promise<CpuSample> {
  const usage = (await (await fetch(`${base}/bench/cpu`)).json()) as {
    user: number
    system: number
    threads: Record<string, number>
  }
  return { totalMs: (usage.user + usage.system) / 1000, threads: usage.threads }
}

/** The busiest threads between two samples, as `name ms/1k events`. */
function busiestThreads(before: CpuSample, after: CpuSample, events: number): string {
  return Object.entries(after.threads)
    .map(([k, v]) => [k, v - (before.threads[k] ?? 0)] as const)
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, v]) => `${k.split(' ').slice(1).join(' ')} ${((v / events) * 1000).toFixed(1)}`)
    .join(', ')
}

/** A body template with a placeholder for each messageId, filled with fresh random UUIDs per request. */
function bodyFactory(events: Record<string, unknown>[]): () => string {
  const MARK = '__TALLY_BENCH_MID__'
  const template = JSON.stringify(
    events.length === 1
      ? { ...events[0], messageId: MARK }
      : { events: events.map((e) => ({ ...e, messageId: MARK })) },
  )
  const parts = template.split(`"${MARK}"`)
  return () => {
    let out = parts[0]
    for (let i = 1; i < parts.length; i++) out += `"${randomUUID()}"${parts[i]}`
    return out
  }
}

async function load(
  name: string,
  url: string,
  makeBody: () => string,
  eventsPerRequest: number,
  connections: number,
  duration: number,
): Promise<Run> {
  const base = new URL(url).origin
  const cpuBefore = await serverCpu(base)
  const result = await autocannon({
    url,
    method: 'POST',
    connections,
    duration,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${WRITE_KEY}` },
    requests: [{ setupRequest: (req) => ({ ...req, body: makeBody() }) }],
  })
  const cpuAfter = await serverCpu(base)
  // Only answered requests carry events: a 503 (load shed) or a 4xx stored nothing. Counting every
  // response overstated the single-event route with 100 clients 1.7x (its 503s are the cheapest answers).
  const seconds = result.duration
  const events = Math.max(1, result['2xx'] * eventsPerRequest)
  return {
    cpuMsPer1k: ((cpuAfter.totalMs - cpuBefore.totalMs) / events) * 1000,
    threads: busiestThreads(cpuBefore, cpuAfter, events),
    name,
    eventsPerRequest,
    requestsPerSec: result.requests.total / seconds,
    eventsPerSec: (result['2xx'] * eventsPerRequest) / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  }
}

/**
 * Median latency in ms of a 16 KB append + fdatasync in `dir` (a small group commit's WAL write): the
 * wait every durable acknowledgement includes on this disk.
 */
function durableWriteMs(dir: string, samples = 40): number {
  const path = join(dir, 'fsync-probe')
  const fd = openSync(path, 'w')
  const page = Buffer.alloc(16 * 1024, 7)
  const times: number[] = []
  try {
    for (let i = 0; i < samples; i++) {
      const t0 = process.hrtime.bigint()
      writeSync(fd, page)
      fdatasyncSync(fd)
      times.push(Number(process.hrtime.bigint() - t0) / 1e6)
    }
  } finally {
    closeSync(fd)
    rmSync(path, { force: true })
  }
  return times.sort((a, b) => a - b)[times.length >> 1]
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' },
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '32' },
      postgres: { type: 'string' },
      only: { type: 'string' },
      'single-connections': { type: 'string', default: '10' },
    },
  })
  if (values.serve) return serve(values.serve)
  const duration = Number(values.duration)
  const connections = Number(values.connections)

  const singleConnections = values['single-connections'].split(',').map(Number)
  if (singleConnections.some((c) => !Number.isInteger(c) || c < 1))
    throw new Error('--single-connections takes positive integers, e.g. 10,100')

  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-http-'))
  const fsyncMs = durableWriteMs(dir)
  console.log(
    `durable write (16 KB + fdatasync) on the database's disk: ${fsyncMs.toFixed(2)} ms median — at most ` +
      `${Math.round(10 / (fsyncMs / 1000)).toLocaleString('en')} durably acknowledged events/s for 10 clients that wait for their answers`,
  )
  // --postgres postgres://user@host:port/admin-db: a fresh database is created for the run and dropped after.
  const pgAdmin = values.postgres
  const pgDatabase = `tally_bench_http_${process.pid}`
  let dbUrl = `sqlite:${join(dir, 'bench.db')}`
  let target = 'SQLite'
  if (pgAdmin) {
    const pg = await import('pg')
    const client = new pg.default.Client({ connectionString: pgAdmin })
    await client.connect()
    await client.query(`CREATE DATABASE ${pgDatabase}`)
    await client.end()
    const url = new URL(pgAdmin)
    url.pathname = `/${pgDatabase}`
    dbUrl = url.toString()
    target = 'PostgreSQL'
  }
  // BENCH_NODE_ARGS: extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', new URL(import.meta.url).pathname, '--serve', dbUrl],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  try {
    const base = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout!.on('data', (d) => {
        out += d
        const m = /LISTENING (\S+)/.exec(out)
        if (m) resolve(m[1])
      })
      child.on('exit', (code) => reject(new Error(`server exited ${code}`)))
    })
    const corpus = generateCorpus(2_000, 7).map((l) => JSON.parse(l) as Record<string, unknown>)
    const batch = bodyFactory(corpus.slice(0, 100))
    const single = bodyFactory([corpus.find((e) => e.type === 'track')!])
    console.log(
      `batch body ${Buffer.byteLength(batch())} bytes, single-event body ${Buffer.byteLength(single())} bytes`,
    )

    const check = await fetch(`${base}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WRITE_KEY}`, 'content-type': 'application/json' },
      body: batch(),
    })
    const outcome = (await check.json()) as { accepted: number; rejected: number; duplicates: number }
    console.log(
      `sanity: one batch → accepted ${outcome.accepted}, rejected ${outcome.rejected}, duplicates ${outcome.duplicates}`,
    )

    // Warm-up: JIT, SQLite page cache, UA cache.
    await load('warm-up', `${base}/api/v1/events`, batch, 100, connections, 2)
    await load('warm-up', `${base}/bench/parse`, batch, 100, connections, 2)

    // --only parse,batch,single runs a subset (e.g. to profile one route); ratios need parse + batch.
    const only = new Set((values.only ?? 'parse,batch,single').split(','))
    const runs: Run[] = []
    if (only.has('parse')) {
      runs.push(await load('parse only (100/req)', `${base}/bench/parse`, batch, 100, connections, duration))
    }
    if (only.has('batch')) {
      runs.push(
        await load(
          `POST /api/v1/events → ${target} (100/req)`,
          `${base}/api/v1/events`,
          batch,
          100,
          connections,
          duration,
        ),
      )
    }
    if (only.has('single')) {
      // The same single-event body to the parse-only route: what Fastify + the body parser cost per request
      // on this machine, next to which the full single-event figure can be read.
      runs.push(await load('parse only (1/req), 10 conns', `${base}/bench/parse`, single, 1, 10, duration))
      for (const conns of singleConnections) {
        runs.push(
          await load(
            `single event/req, ${conns} conns → ${target}`,
            `${base}/api/v1/events`,
            single,
            1,
            conns,
            duration,
          ),
        )
      }
    }

    console.log(
      '\n| route | connections | events/s stored (2xx) | requests/s (all answers) | p50 ms | p99 ms | non-2xx | errors | server CPU ms / 1k events stored (busiest threads) |',
    )
    console.log('|---|---|---|---|---|---|---|---|---|')
    for (const r of runs) {
      const conns = Number(/(\d+) conns/.exec(r.name)?.[1] ?? connections)
      console.log(
        `| ${r.name} | ${conns} | ${Math.round(r.eventsPerSec).toLocaleString('en')} | ${Math.round(r.requestsPerSec).toLocaleString('en')} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} | ${r.cpuMsPer1k.toFixed(1)} (${r.threads}) |`,
      )
    }
    const parse = runs.find((r) => r.name.startsWith('parse only'))
    const ingest = runs.find((r) => r.name.includes('(100/req)') && !r.name.startsWith('parse'))
    const single1 = runs.find((r) => r.name.startsWith('single event'))
    if (parse && ingest) {
      console.log(
        `\ningest / parse-only = ${(ingest.eventsPerSec / parse.eventsPerSec).toFixed(2)}× (target ≥ 0.30×)`,
      )
    }
    if (single1) {
      for (const r of runs.filter((run) => run.name.startsWith('single event'))) {
        const conns = Number(/(\d+) conns/.exec(r.name)?.[1])
        const ceiling = conns / (fsyncMs / 1000)
        console.log(
          `single-event, ${conns} clients = ${Math.round(r.eventsPerSec).toLocaleString('en')} events/s (target ≥ 8,000 with 10); ` +
            `${(r.eventsPerSec / ceiling).toFixed(2)}× this disk's durable-ack ceiling for ${conns} clients`,
        )
      }
    }

    const from = new Date(Date.now() - 400 * 86_400_000).toISOString()
    const to = new Date(Date.now() + 86_400_000).toISOString()
    const stats = await fetch(`${base}/api/v1/stats/overview?from=${from}&to=${to}`, {
      headers: { authorization: `Bearer ${READ_KEY}` },
    })
    console.log(
      `stored events (GET /api/v1/stats/overview): ${stats.status} ${(await stats.text()).slice(0, 200)}`,
    )
  } finally {
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
    rmSync(dir, { recursive: true, force: true })
    if (pgAdmin) {
      const pg = await import('pg')
      const client = new pg.default.Client({ connectionString: pgAdmin })
      await client.connect()
      await client.query(`DROP DATABASE IF EXISTS ${pgDatabase}`)
      await client.end()
    }
  }
}

await main()
