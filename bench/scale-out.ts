/**
 * Scale-out throughput: the same events through the direct path (ingest → group commit → PostgreSQL) and
 * through the queue path (ingest → NATS JetStream, 3 servers, R3 → `tally worker` processes → PostgreSQL),
 * with 1 and 2 workers, in one run. Every configuration gets a fresh database (and a fresh stream).
 *
 * The ingest node runs in this process and is driven through `EventService.ingest` (batches of 100,
 * 16 concurrent calls) — no HTTP, so the figures compare the write paths, not Fastify. Workers are child
 * processes. Everything (3 nats-servers, PostgreSQL, ingest, workers) shares this machine's cores: on 2
 * cores the queue path competes with itself, so these numbers are a floor for a deployment where each
 * part has its own machine.
 *
 *   npx tsx bench/scale-out.ts [--events 60000]
 */
import { randomUUID } from 'node:crypto'
import { cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { createApp } from '../src/app/create-app.js'
import { loadConfig } from '../src/config/config.js'
import { openQueue } from '../src/queue/jetstream-setup.js'
import { createStore } from '../src/store/create-store.js'
import { createFreshPostgresDatabase, type FreshDatabase } from '../test/helpers/dialects.js'
import { startNatsCluster } from '../test/helpers/nats-cluster.js'
import {
  countEvents,
  createTestStream,
  startTallyChild,
  type TallyChild,
  WRITE_KEY,
} from '../test/helpers/scale-out.js'
import { generateCorpus } from './corpus.js'

const { values } = parseArgs({ options: { events: { type: 'string', default: '60000' } } })
const N = Number(values.events)
const BATCH = 100
const CONCURRENCY = 16

const corpus = generateCorpus(N).map((line) => JSON.parse(line) as Record<string, unknown>)

async function freshDb(): Promise<FreshDatabase> {
  const db = await createFreshPostgresDatabase()
  const store = await createStore(db.url)
  await store.migrate()
  await store.close()
  return db
}

function baseEnv(db: FreshDatabase, extra: Record<string, string> = {}) {
  return {
    TALLY_DATABASE_URL: db.url,
    TALLY_WRITE_KEY: WRITE_KEY,
    TALLY_LOG_LEVEL: 'error',
    TALLY_RATE_LIMIT_MAX: '0',
    TALLY_DOCS: 'false',
    TALLY_PORT: '0',
    ...extra,
  }
}

/** Ingests the corpus with fresh messageIds; resolves with ms until every call was answered. */
async function ingestAll(ingest: (events: unknown[]) => Promise<{ accepted: number }>): Promise<number> {
  const started = performance.now()
  let next = 0
  let accepted = 0
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < N) {
        const from = next
        next += BATCH
        const events = corpus.slice(from, from + BATCH).map((e) => ({ ...e, messageId: randomUUID() }))
        const result = await ingest(events)
        accepted += result.accepted
      }
    }),
  )
  if (accepted < N * 0.9) throw new Error(`only ${accepted} of ${N} events accepted`)
  return performance.now() - started
}

async function waitForRows(db: FreshDatabase, rows: number, started: number): Promise<number> {
  for (;;) {
    if ((await countEvents(db.url)).rows >= rows) return performance.now() - started
    await new Promise((r) => setTimeout(r, 100))
  }
}

interface Row {
  path: string
  ackedPerSec: number
  storedPerSec: number
}
const rows: Row[] = []

// 1. Direct path (baseline).
{
  const db = await freshDb()
  const app = await createApp(loadConfig(baseEnv(db)))
  const projectId = app.bootstrap.project.id
  const ms = await ingestAll((events) => app.events.ingest(events, { projectId }))
  const stored = (await countEvents(db.url)).rows
  rows.push({
    path: 'direct (group commit → PostgreSQL)',
    ackedPerSec: (stored / ms) * 1000,
    storedPerSec: (stored / ms) * 1000,
  })
  await app.close()
  await db.drop()
}

// 2–3. Queue path with 1 and 2 workers.
const cluster = await startNatsCluster(3)
try {
  for (const workers of [1, 2]) {
    const db = await freshDb()
    const settings = await createTestStream(cluster.clientUrls as string[], {
      subjectPrefix: 'tally',
      maxBytes: 256 * 1024 * 1024,
    })
    const env = baseEnv(db, { TALLY_QUEUE_URL: cluster.url, TALLY_QUEUE_STREAM: settings.stream })
    const children: TallyChild[] = []
    try {
      for (let w = 0; w < workers; w++) {
        children.push(await startTallyChild(['worker'], env, /tally worker: consuming/))
      }
      const app = await createApp(loadConfig(env))
      const projectId = app.bootstrap.project.id
      const started = performance.now()
      const ackMs = await ingestAll((events) => app.events.ingest(events, { projectId }))
      const acked = N
      const storedMs = await waitForRows(db, Math.floor(acked * 0.999), started)
      const stored = (await countEvents(db.url)).rows
      rows.push({
        path: `queue, R3 stream, ${workers} worker${workers > 1 ? 's' : ''}`,
        ackedPerSec: (acked / ackMs) * 1000,
        storedPerSec: (stored / storedMs) * 1000,
      })
      await app.close()
    } finally {
      await Promise.all(children.map((c) => c.kill('SIGTERM')))
      const { nc, jsm } = await openQueue(settings, 'bench-cleanup')
      await jsm.streams.delete(settings.stream) // the next round's stream takes the same subjects
      await nc.close()
      await db.drop()
    }
  }
} finally {
  await cluster.stop()
}

const base = rows[0].storedPerSec
console.log(
  `\n${N} events, batches of ${BATCH}, ${CONCURRENCY} concurrent ingest calls, ${cpus().length} cores, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at the end\n`,
)
console.log('| path | acknowledged events/s | stored events/s (end to end) | stored vs direct |')
console.log('|---|---|---|---|')
for (const r of rows) {
  console.log(
    `| ${r.path} | ${Math.round(r.ackedPerSec).toLocaleString('en')} | ${Math.round(r.storedPerSec).toLocaleString('en')} | ${(r.storedPerSec / base).toFixed(2)} |`,
  )
}
