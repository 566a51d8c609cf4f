/**
 * Query latency of `EventStore.queryEvents` / `exportEvents` at 1M events, on SQLite and PostgreSQL.
 *
 * Loads realistic events (bench/corpus.ts through the real validator and formatter, receive times spread
 * over 7 days) with `insertBatch`, then times the reads a user and the dashboard make — median and p95 of
 * --reps runs after a warm-up — next to a baseline from the same run: `count(*)` of the project's rows,
 * i.e. one pass over the table's index.
 *
 *   npx tsx bench/query.ts [--events 1000000] [--reps 20] [--dialects sqlite,postgres]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createEventFormatter } from '../src/enrich/event-formatter.js'
import type { AnalyticsEvent } from '../src/schema/analytics-event.js'
import type { EventQuery } from '../src/schema/event-query.js'
import { createStore } from '../src/store/create-store.js'
import type { KyselyEventStore } from '../src/store/kysely-event-store.js'
import { DEFAULT_PROJECT_SETTINGS } from '../src/store/project-types.js'
import { EventValidator } from '../src/validate/event-validator.js'
import { createFreshPostgresDatabase, isPostgresReachable } from '../test/helpers/dialects.js'
import { generateCorpus } from './corpus.js'

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    reps: { type: 'string', default: '20' },
    dialects: { type: 'string', default: 'sqlite,postgres' },
  },
})
const EVENTS = Number(values.events)
const REPS = Number(values.reps)
const DAY = 86_400_000
const END = Date.parse('2026-11-27T00:00:00.000Z')
const START = END - 7 * DAY

const corpus = generateCorpus(100_000, 11)
const validator = new EventValidator()
const formatter = createEventFormatter({ sessionSalt: 'bench' })
const settings = { ...DEFAULT_PROJECT_SETTINGS, deriveSessionId: false }
let sampleUserId: string | undefined

/** Events `from`..`from + n` of the load, in receive order, through the real validator and formatter. */
function makeEvents(from: number, n: number): AnalyticsEvent[] {
  const out: AnalyticsEvent[] = []
  for (let i = from; i < from + n; i++) {
    const raw = JSON.parse(corpus[i % corpus.length])
    raw.messageId = `q-${i}`
    delete raw.sentAt
    const receivedAt = new Date(START + Math.floor((i / EVENTS) * 7 * DAY))
    raw.timestamp = receivedAt.toISOString()
    const v = validator.validate(raw)
    if (!v.ok) continue
    const f = formatter.format(v.event, { projectId: 'p1', receivedAt, settings, schema: null, warnings: [] })
    if (f.kind !== 'ok') continue
    if (sampleUserId === undefined && f.event.userId) sampleUserId = f.event.userId
    out.push(f.event)
  }
  return out
}

async function load(store: KyselyEventStore): Promise<void> {
  const started = Date.now()
  for (let i = 0; i < EVENTS; i += 1000) {
    await store.insertBatch(makeEvents(i, Math.min(1000, EVENTS - i)), [])
    if (i % 200_000 === 0) process.stdout.write(`  loaded ${i}\r`)
  }
  console.log(`  loaded ${EVENTS} events in ${((Date.now() - started) / 1000).toFixed(0)} s`)
}

async function time(run: () => Promise<unknown>): Promise<{ median: number; p95: number }> {
  await run()
  const ms: number[] = []
  for (let r = 0; r < REPS; r++) {
    const t = process.hrtime.bigint()
    await run()
    ms.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  ms.sort((a, b) => a - b)
  return {
    median: ms[Math.floor(ms.length / 2)],
    p95: ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.95))],
  }
}

async function bench(name: string, store: KyselyEventStore): Promise<void> {
  await store.createProject({ id: 'p1', name: 'p1', createdAt: new Date().toISOString(), settings })
  console.log(`\n${name}: ${EVENTS} events over 7 days`)
  await load(store)
  const lastDay = { from: new Date(END - DAY).toISOString(), to: new Date(END).toISOString() }
  const page = (q: EventQuery) => () => store.queryEvents('p1', q)
  const pageTen = async () => {
    let cursor: string | undefined
    for (let p = 0; p < 10; p++) {
      const r = await store.queryEvents('p1', { limit: 100, cursor })
      cursor = r.nextCursor ?? undefined
    }
  }
  const exportDay = async () => {
    let n = 0
    for await (const _ of store.exportEvents('p1', { types: ['api_request'], ...lastDay })) n++
    return n
  }
  const cases: [string, () => Promise<unknown>][] = [
    [
      'BASELINE count(*) of the project',
      () =>
        store.db
          .selectFrom('events')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('project_id', '=', 'p1')
          .execute(),
    ],
    ['newest 100 (no filter)', page({ limit: 100 })],
    ['10 pages of 100 by cursor', pageTen],
    ['type api_request, newest 100', page({ types: ['api_request'], limit: 100 })],
    ['name "Order Completed", last day', page({ names: ['Order Completed'], ...lastDay, limit: 100 })],
    [
      'api_request statusCode >= 500, last day',
      page({
        types: ['api_request'],
        where: [{ path: 'properties.statusCode', op: 'gte', value: 500 }],
        ...lastDay,
        limit: 100,
      }),
    ],
    [
      'properties.plan = "pro" (any type), newest 100',
      page({ where: [{ path: 'properties.plan', op: 'eq', value: 'pro' }], limit: 100 }),
    ],
    [`userId = one user`, page({ userId: sampleUserId ?? 'nobody', limit: 100 })],
    ['export api_request of the last day (rows)', exportDay],
  ]
  console.log('| dialect | events | query | median ms | p95 ms |')
  console.log('|---|---|---|---|---|')
  for (const [label, run] of cases) {
    const t = await time(run)
    console.log(`| ${name} | ${EVENTS / 1e6}M | ${label} | ${t.median.toFixed(1)} | ${t.p95.toFixed(1)} |`)
  }
}

const dialects = values.dialects.split(',')
if (dialects.includes('sqlite')) {
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-query-'))
  const store = await createStore(`sqlite:${join(dir, 'q.db')}`, { migrate: true })
  await bench('sqlite', store)
  await store.close()
  rmSync(dir, { recursive: true, force: true })
}
if (dialects.includes('postgres')) {
  if (!(await isPostgresReachable())) {
    console.log('\npostgres: not reachable, skipped')
  } else {
    const fresh = await createFreshPostgresDatabase()
    const store = await createStore(fresh.url, { migrate: true })
    await bench('postgres', store)
    await store.close()
    await fresh.drop()
  }
}
