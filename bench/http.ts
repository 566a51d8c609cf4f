/**
 * HTTP ingest throughput, measured end to end over a real socket with autocannon.
 *
 * The server runs in a child process (`--serve`), the load generator in this one, so the two share the
 * machine's two cores. In the same run, against the same server:
 *  1. parse-only route: the ingest body parser (same bytes, same content type) and nothing else — the baseline;
 *  2. POST /api/v1/events with batches of 100 realistic events (auth, validate, enrich, group commit to SQLite);
 *  3. single-event POST /api/v1/events requests from 10 connections (what browser trackers send).
 * Every request carries fresh random messageIds, as real SDKs do, so nothing is skipped as a duplicate.
 *
 *   npx tsx bench/http.ts [--duration 10] [--connections 32]
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
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
  requests: { average: number }
  latency: { p50: number; p99: number }
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
  })
  // BENCH_MAX_WAIT_MS overrides the group-commit wait, to compare settings in otherwise equal runs.
  const wait = process.env.BENCH_MAX_WAIT_MS
  const app = await createApp(config, wait === undefined ? {} : { ingest: { maxWaitMs: Number(wait) } })
  await app.server.register(async function parseOnly(scope) {
    useIngestBodyParser(scope, config.bodyLimit)
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
  const result = await autocannon({
    url,
    method: 'POST',
    connections,
    duration,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${WRITE_KEY}` },
    requests: [{ setupRequest: (req) => ({ ...req, body: makeBody() }) }],
  })
  const rps = result.requests.average
  return {
    name,
    eventsPerRequest,
    requestsPerSec: rps,
    eventsPerSec: rps * eventsPerRequest,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' },
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '32' },
      postgres: { type: 'string' },
    },
  })
  if (values.serve) return serve(values.serve)
  const duration = Number(values.duration)
  const connections = Number(values.connections)

  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-http-'))
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
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', new URL(import.meta.url).pathname, '--serve', dbUrl],
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

    const runs: Run[] = []
    runs.push(await load('parse only (100/req)', `${base}/bench/parse`, batch, 100, connections, duration))
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
    runs.push(
      await load(`single event/req, 10 conns → ${target}`, `${base}/api/v1/events`, single, 1, 10, duration),
    )

    console.log('\n| route | connections | events/s | requests/s | p50 ms | p99 ms | non-2xx | errors |')
    console.log('|---|---|---|---|---|---|---|---|')
    for (const r of runs) {
      const conns = r.name.includes('10 conns') ? 10 : connections
      console.log(
        `| ${r.name} | ${conns} | ${Math.round(r.eventsPerSec).toLocaleString('en')} | ${Math.round(r.requestsPerSec).toLocaleString('en')} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} |`,
      )
    }
    const ratio = runs[1].eventsPerSec / runs[0].eventsPerSec
    console.log(`\ningest / parse-only = ${ratio.toFixed(2)}× (target ≥ 0.30×)`)
    console.log(
      `single-event = ${Math.round(runs[2].eventsPerSec).toLocaleString('en')} events/s (target ≥ 8,000)`,
    )

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
