/**
 * Statistics latency at 1M (default) or 10M events, on SQLite and PostgreSQL.
 *
 *   npx tsx bench/stats.ts                                   # 1M events over 7 days, both dialects
 *   npx tsx bench/stats.ts --events 10000000                 # 10M over 70 days (long: ~15–30 min load)
 *   npx tsx bench/stats.ts --dialects sqlite --reps 20
 *
 * Loads a realistic corpus (60% track/page, 15% performance, 15% interactions, 10% API requests) through
 * the store's insertBatch (rollups maintained at ingest, time spent in writeRollups measured), then times
 * every statistic (median and p95 of --reps runs after a warm-up) over the last day, 7 days and the whole
 * range, against the same statistic computed by a raw scan of the events table in the same run.
 */

import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { v7 as uuidv7 } from 'uuid'
import type { AnalyticsEvent } from '../src/schema/analytics-event.js'
import { getApiRequests } from '../src/stats/get-api-requests.js'
import { getInteractions } from '../src/stats/get-interactions.js'
import { getOverview } from '../src/stats/get-overview.js'
import { getPerformance } from '../src/stats/get-performance.js'
import { getTimeseries } from '../src/stats/get-timeseries.js'
import { writeRollups } from '../src/stats/rollups/write-rollups.js'
import { createStore } from '../src/store/create-store.js'
import type { KyselyEventStore } from '../src/store/kysely-event-store.js'
import { createFreshPostgresDatabase, isPostgresReachable } from '../test/helpers/dialects.js'

const args = process.argv.slice(2)
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : def
}
const EVENTS = Number(arg('events', '1000000'))
const DIALECTS = arg('dialects', 'sqlite,postgres').split(',')
const REPS = Number(arg('reps', '10'))
const BATCH = 5_000
const DAY = 86_400_000
const DAYS = Math.max(1, Math.round((EVENTS / 1_000_000) * 7))
const END = Date.parse('2026-11-27T00:00:00Z')
const START = END - DAYS * DAY
const P = 'bench'

function rng(seed: number) {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const r = rng(42)
const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]
const NAMES = Array.from({ length: 40 }, (_, i) => `Event ${i}`)
const PATHS = Array.from({ length: 30 }, (_, i) => `/page/${i}`)
const ROUTES = Array.from({ length: 20 }, (_, i) => `/api/r${i}/:id`)
const TARGETS = Array.from({ length: 50 }, (_, i) => `#el-${i}`)

function event(at: number, i: number): AnalyticsEvent {
  const k = r()
  const user = `u${Math.floor(r() * 50_000)}`
  let type: AnalyticsEvent['type'] = 'track'
  let name: string | null = null
  let properties: Record<string, unknown> = {}
  if (k < 0.4) {
    name = pick(NAMES)
    properties = { plan: pick(['free', 'pro', 'team']) }
  } else if (k < 0.6) type = 'page'
  else if (k < 0.75) {
    type = 'performance'
    name = pick(['LCP', 'INP', 'CLS', 'FCP', 'TTFB'])
    const value = name === 'CLS' ? Math.round(r() * 50) / 100 : Math.round(50 + r() ** 2 * 6000)
    properties = { value, rating: pick(['good', 'good', 'needs-improvement', 'poor']) }
  } else if (k < 0.9) {
    type = 'interaction'
    name = pick(['click', 'submit', 'change'])
    properties = { target: { selector: pick(TARGETS), tag: 'button' } }
  } else {
    type = 'api_request'
    const route = pick(ROUTES)
    const method = pick(['GET', 'GET', 'POST'])
    name = `${method} ${route}`
    properties = {
      method,
      route,
      statusCode: pick([200, 200, 200, 201, 404, 500]),
      durationMs: Math.round(1 + r() ** 3 * 2000),
    }
  }
  const ts = new Date(at).toISOString()
  return {
    id: uuidv7({ msecs: at }),
    projectId: P,
    type,
    name,
    messageId: `m${i}`,
    userId: r() < 0.3 ? null : user,
    anonymousId: `a${user}`,
    sessionId: `s${Math.floor(r() * 200_000)}`,
    groupId: null,
    previousId: null,
    timestamp: ts,
    originalTimestamp: null,
    sentAt: null,
    receivedAt: ts,
    properties,
    traits: null,
    context: { page: { path: pick(PATHS) }, userAgent: 'Mozilla/5.0' },
    status: 'received',
    error: null,
    attempts: 0,
    tags: [],
    schema: null,
    violations: [],
  }
}

async function load(store: KyselyEventStore, rollupMs: { total: number }): Promise<number> {
  const t0 = performance.now()
  const step = (END - START) / EVENTS
  for (let i = 0; i < EVENTS; i += BATCH) {
    const batch: AnalyticsEvent[] = []
    for (let j = i; j < Math.min(EVENTS, i + BATCH); j++)
      batch.push(event(Math.floor(START + j * step + r() * step), j))
    await store.insertBatch(batch, [])
    if ((i / BATCH) % 40 === 0) process.stdout.write(`\r  loaded ${i + batch.length}/${EVENTS}`)
  }
  const s = (performance.now() - t0) / 1000
  process.stdout.write(
    `\r  loaded ${EVENTS} in ${s.toFixed(1)} s (${Math.round(EVENTS / s)} events/s; ${(rollupMs.total / 1000).toFixed(1)} s in writeRollups = ${((rollupMs.total / 1000 / s) * 100).toFixed(0)}%)\n`,
  )
  return EVENTS / s
}

async function time(fn: () => Promise<unknown>): Promise<{ median: number; p95: number }> {
  await fn()
  const xs: number[] = []
  for (let i = 0; i < REPS; i++) {
    const t = performance.now()
    await fn()
    xs.push(performance.now() - t)
  }
  xs.sort((a, b) => a - b)
  return {
    median: xs[Math.floor(xs.length / 2)],
    p95: xs[Math.min(xs.length - 1, Math.ceil(0.95 * xs.length) - 1)],
  }
}

const rows: string[] = []
async function run(dialect: string, url: string, cleanup: () => Promise<void>) {
  console.log(`\n${dialect}: ${EVENTS} events over ${DAYS} days`)
  const rollupMs = { total: 0 }
  const store = await createStore(url, {
    migrate: true,
    rollupWriter: async (trx, d, events) => {
      const t = performance.now()
      await writeRollups(trx, d, events)
      rollupMs.total += performance.now() - t
    },
  })
  const rate = await load(store, rollupMs)
  if (dialect === 'postgres') await sql`analyze`.execute(store.db)
  const { db, storeDialect: d } = store
  const ranges = [
    ['1 day', END - DAY],
    ['7 days', END - 7 * DAY],
    ...(DAYS > 7 ? [[`${DAYS} days`, START] as const] : []),
  ] as const
  for (const [label, fromMs] of ranges) {
    const from = new Date(fromMs).toISOString()
    const to = new Date(END).toISOString()
    const unit = END - fromMs > 2 * DAY ? 'day' : 'hour'
    const cases: [string, () => Promise<unknown>][] = [
      ['overview', () => getOverview(db, d, P, { from, to })],
      [`timeseries ${unit}`, () => getTimeseries(db, d, P, { from, to, unit })],
      [
        'timeseries day, Europe/Berlin, groupBy name',
        () => getTimeseries(db, d, P, { from, to, unit: 'day', timeZone: 'Europe/Berlin', groupBy: 'name' }),
      ],
      ['performance', () => getPerformance(db, d, P, { from, to })],
      ['api requests', () => getApiRequests(db, d, P, { from, to, unit })],
      ['interactions', () => getInteractions(db, d, P, { from, to })],
      // Baselines: the same statistics by a raw scan of the events table.
      [
        'BASELINE scan: count per type+name per hour',
        () => {
          const b = d.timeBucket('events.timestamp', 'hour')
          return db
            .selectFrom('events')
            .select([b.as('h'), 'type', 'name', (eb) => eb.fn.countAll().as('n')])
            .where('project_id', '=', P)
            .where('timestamp', '>=', d.toDbTime(fromMs))
            .where('timestamp', '<', d.toDbTime(END))
            .groupBy([sql`1`, 'type', 'name'])
            .execute()
        },
      ],
      [
        'BASELINE scan: web-vital values, exact p50..p99 in JS',
        async () => {
          const rs = await db
            .selectFrom('events')
            .select(['name', d.jsonExtract('events.properties', ['value'], 'number').as('v')])
            .where('project_id', '=', P)
            .where('type', '=', 'performance')
            .where('timestamp', '>=', d.toDbTime(fromMs))
            .where('timestamp', '<', d.toDbTime(END))
            .execute()
          const by = new Map<string, number[]>()
          for (const x of rs) {
            const list = by.get(x.name ?? '')
            if (list) list.push(Number(x.v))
            else by.set(x.name ?? '', [Number(x.v)])
          }
          for (const v of by.values()) v.sort((a, b) => a - b)
        },
      ],
    ]
    if (label === '1 day') {
      cases.push([
        'timeseries hour, groupBy properties.plan (scan)',
        () =>
          getTimeseries(db, d, P, {
            from,
            to,
            unit: 'hour',
            groupBy: 'property',
            property: 'properties.plan',
          }),
      ])
      cases.push([
        'performance groupBy path (scan)',
        () => getPerformance(db, d, P, { from, to, groupBy: 'path' }),
      ])
    }
    const results: Record<string, { median: number; p95: number }> = {}
    for (const [name, fn] of cases) {
      const reps = name.startsWith('BASELINE') && EVENTS > 2_000_000 && label !== '1 day' ? 1 : REPS
      const saved = REPS
      results[name] =
        reps === REPS
          ? await time(fn)
          : await (async () => {
              const t = performance.now()
              await fn()
              const ms = performance.now() - t
              return { median: ms, p95: ms }
            })()
      void saved
      const x = results[name]
      const line = `| ${dialect} | ${EVENTS / 1e6}M | ${label} | ${name} | ${x.median.toFixed(1)} | ${x.p95.toFixed(1)} |`
      rows.push(line)
      console.log(line)
    }
    const base = results['BASELINE scan: count per type+name per hour'].median
    const pbase = results['BASELINE scan: web-vital values, exact p50..p99 in JS'].median
    console.log(
      `  ratio timeseries/scan: ${(results[`timeseries ${unit}`].median / base).toFixed(3)}; performance/scan: ${(results.performance.median / pbase).toFixed(3)}`,
    )
    rows.push(
      `| ${dialect} | ${EVENTS / 1e6}M | ${label} | ratio rollup/scan (timeseries; performance) | ${(results[`timeseries ${unit}`].median / base).toFixed(3)} | ${(results.performance.median / pbase).toFixed(3)} |`,
    )
  }
  rows.push(
    `| ${dialect} | ${EVENTS / 1e6}M | load | insertBatch with rollups, events/s | ${Math.round(rate)} | ${((rollupMs.total / 1000 / (EVENTS / rate)) * 100).toFixed(0)}% in writeRollups |`,
  )
  await store.close()
  await cleanup()
}

if (DIALECTS.includes('sqlite')) {
  const file = join(tmpdir(), `tally-bench-stats-${process.pid}.db`)
  await run('sqlite', `sqlite:${file}`, async () => {
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true })
  })
}
if (DIALECTS.includes('postgres')) {
  if (!(await isPostgresReachable())) console.log('PostgreSQL not reachable; skipped')
  else {
    const fresh = await createFreshPostgresDatabase()
    await run('postgres', fresh.url, () => fresh.drop())
  }
}
console.log('\n| dialect | events | range | statistic | median ms | p95 ms |\n|---|---|---|---|---|---|')
for (const l of rows) console.log(l)
