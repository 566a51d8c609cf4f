/**
 * GDPR erasure and retention purge on SQLite: how long they take and the longest the event loop (the whole
 * server, better-sqlite3 being synchronous) waits while they run.
 *
 *   npx tsx bench/erasure.ts [--events 300000] [--days 60] [--user-events 3000]
 *
 * A file database gets `--events` events of 2,000 users spread over `--days`, plus one user with
 * `--user-events` events spread over the same days (one in most hours: the case that hurt). In the same
 * run, on copies of the same file:
 *  (a) baseline: the erasure as ONE transaction (delete the user's events, rebuild every hour they fell in)
 *      — what `deleteWhere` did before it ran in slices;
 *  (b) `store.deleteWhere` (src/store/chunked-delete.ts: transactions of ~50 ms, the event loop turning
 *      between them); (e) the same by `anonymousId`, which has no index (the project is scanned in time
 *      windows);
 *  (c) `store.purgeOlderThan` for the first half of the days, against (d): the same purge as ONE
 *      transaction, as before.
 * While each runs, a 1 ms timer records the longest gap between its ticks: the longest any request waits.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { v7 as uuidv7 } from 'uuid'
import type { AnalyticsEvent } from '../src/schema/analytics-event.js'
import { rebuildRollups } from '../src/stats/rollups/rebuild-rollups.js'
import { createStore } from '../src/store/create-store.js'
import type { KyselyEventStore } from '../src/store/kysely-event-store.js'
import { DEFAULT_PROJECT_SETTINGS } from '../src/store/project-types.js'
import { hourRanges } from '../src/store/rollup-writer.js'

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '300000' },
    days: { type: 'string', default: '60' },
    'user-events': { type: 'string', default: '3000' },
  },
})
const EVENTS = Number(args.events)
const DAYS = Number(args.days)
const USER_EVENTS = Number(args['user-events'])
const HOUR = 3_600_000
const END = Date.parse('2026-11-01T00:00:00.000Z')
const START = END - DAYS * 24 * HOUR

function event(userId: string, at: number, i: number): AnalyticsEvent {
  const iso = new Date(at).toISOString()
  return {
    id: uuidv7({ msecs: at }),
    projectId: 'p1',
    type: i % 5 === 0 ? 'page' : 'track',
    name: i % 5 === 0 ? null : `Event ${i % 20}`,
    messageId: `m-${userId}-${i}`,
    userId,
    anonymousId: `a-${userId}`,
    sessionId: `s-${userId}-${Math.floor(at / (6 * HOUR))}`,
    groupId: null,
    previousId: null,
    timestamp: iso,
    originalTimestamp: null,
    sentAt: null,
    receivedAt: iso,
    properties: { plan: 'pro', value: i % 100 },
    traits: null,
    context: { page: { path: `/p/${i % 50}` }, library: { name: 'bench', version: '1' } },
    status: 'received',
    error: null,
    attempts: 0,
    tags: [],
    schema: null,
    violations: [],
  }
}

async function build(file: string): Promise<void> {
  const store = (await createStore(`sqlite:${file}`, { migrate: true })) as KyselyEventStore
  await store.createProject({
    id: 'p1',
    name: 'p1',
    createdAt: new Date().toISOString(),
    settings: { ...DEFAULT_PROJECT_SETTINGS },
  })
  const all: AnalyticsEvent[] = []
  const span = END - START
  for (let i = 0; i < EVENTS; i++) all.push(event(`u${i % 2000}`, START + Math.floor((i / EVENTS) * span), i))
  for (let i = 0; i < USER_EVENTS; i++)
    all.push(event('target', START + Math.floor(((i + 0.5) / USER_EVENTS) * span), i))
  all.sort((a, b) => (a.timestamp < b.timestamp ? -1 : 1))
  for (let i = 0; i < all.length; i += 5000) await store.insertBatch(all.slice(i, i + 5000), [])
  await store.refreshRollups()
  await store.close()
}

/** Runs `work`, measuring its wall time and the longest gap between ticks of a 1 ms timer meanwhile. */
async function measure(work: () => Promise<unknown>): Promise<{ ms: number; longestStallMs: number }> {
  let last = performance.now()
  let longest = 0
  const timer = setInterval(() => {
    const now = performance.now()
    longest = Math.max(longest, now - last)
    last = now
  }, 1)
  const t0 = performance.now()
  await work()
  const ms = performance.now() - t0
  longest = Math.max(longest, performance.now() - last)
  clearInterval(timer)
  return { ms, longestStallMs: longest }
}

const dir = mkdtempSync(join(tmpdir(), 'tally-erasure-'))
try {
  const base = join(dir, 'base.db')
  const t0 = performance.now()
  await build(base)
  console.log(
    `${EVENTS + USER_EVENTS} events over ${DAYS} days (target user: ${USER_EVENTS}), built in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  )
  const copy = (name: string) => {
    const f = join(dir, name)
    copyFileSync(base, f)
    return f
  }
  const open = async (f: string) => (await createStore(`sqlite:${f}`)) as KyselyEventStore

  const oneTx = await open(copy('a.db'))
  const a = await measure(() =>
    oneTx.db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('events')
        .select('timestamp')
        .where('project_id', '=', 'p1')
        .where('user_id', '=', 'target')
        .execute()
      await trx.deleteFrom('events').where('project_id', '=', 'p1').where('user_id', '=', 'target').execute()
      for (const range of hourRanges(rows.map((r) => Date.parse(oneTx.storeDialect.fromDbTime(r.timestamp)))))
        await rebuildRollups(trx, oneTx.storeDialect, 'p1', range)
    }),
  )
  await oneTx.close()

  const sliced = await open(copy('b.db'))
  const b = await measure(() => sliced.deleteWhere('p1', { userId: 'target' }))
  await sliced.close()

  // By anonymousId (not indexed): the project is scanned, in time windows with the event loop turning.
  const byAnonymous = await open(copy('e.db'))
  const e = await measure(() => byAnonymous.deleteWhere('p1', { anonymousId: 'a-target' }))
  await byAnonymous.close()

  const cutoff = new Date(START + (DAYS / 2) * 24 * HOUR)
  const purgeOneTx = await open(copy('d.db'))
  const d = await measure(() =>
    purgeOneTx.db.transaction().execute(async (trx) => {
      const before = purgeOneTx.storeDialect.toDbTime(cutoff)
      const rows = await trx
        .selectFrom('events')
        .select('timestamp')
        .where('received_at', '<', before)
        .execute()
      await trx.deleteFrom('events').where('received_at', '<', before).execute()
      for (const range of hourRanges(
        rows.map((r) => Date.parse(purgeOneTx.storeDialect.fromDbTime(r.timestamp))),
      ))
        await rebuildRollups(trx, purgeOneTx.storeDialect, 'p1', range)
    }),
  )
  await purgeOneTx.close()

  const purging = await open(copy('c.db'))
  let purged = 0
  const c = await measure(async () => {
    purged = (await purging.purgeOlderThan(cutoff)).events
  })
  await purging.close()

  console.log('operation                                   wall ms   longest stall ms   stall vs (a)')
  const row = (name: string, r: { ms: number; longestStallMs: number }) =>
    console.log(
      `${name.padEnd(42)} ${r.ms.toFixed(0).padStart(8)} ${r.longestStallMs.toFixed(0).padStart(18)} ${(r.longestStallMs / a.longestStallMs).toFixed(3).padStart(14)}`,
    )
  row('(a) erasure, one transaction (baseline)', a)
  row('(b) erasure, deleteWhere in slices', b)
  row('(e) erasure by anonymousId in slices', e)
  row(`(d) purge, one transaction (baseline)`, d)
  row(`(c) purge of ${purged} events in slices`, c)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
