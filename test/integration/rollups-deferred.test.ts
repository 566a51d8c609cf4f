import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AnalyticsEvent } from '../../src/schema/analytics-event.js'
import { getOverview } from '../../src/stats/get-overview.js'
import { getPerformance } from '../../src/stats/get-performance.js'
import { rollupBacklog } from '../../src/stats/rollups/catch-up-rollups.js'
import { writeRollups } from '../../src/stats/rollups/write-rollups.js'
import { createStore } from '../../src/store/create-store.js'
import type { KyselyEventStore } from '../../src/store/kysely-event-store.js'
import { makeEvent } from '../helpers/store-conformance.js'

// SQLite leaves rollups out of the insert transaction and catches up from a rowid watermark
// (src/stats/rollups/catch-up-rollups.ts). These tests pin down that statistics still count every
// acknowledged event exactly once: before the catch-up ran, after a crash, after deletes, with two writers.

const T0 = Date.parse('2026-11-02T00:00:00.000Z')
const HOUR = 3_600_000
const range = { from: new Date(T0 - HOUR).toISOString(), to: new Date(T0 + 48 * HOUR).toISOString() }
const events = (n: number, over: Partial<AnalyticsEvent> = {}) =>
  Array.from({ length: n }, (_, i) =>
    makeEvent({ timestamp: new Date(T0 + (i % 40) * 60_000).toISOString(), ...over }),
  )

/** The event count the hourly rollup table holds for project p1 (what rollup-backed statistics read). */
async function rolledUp(store: KyselyEventStore): Promise<number> {
  const r = await sql<{
    n: number | null
  }>`select sum(count) as n from stats_counts where project_id = 'p1'`.execute(store.db)
  return Number(r.rows[0]?.n ?? 0)
}

describe('sqlite: deferred rollups', () => {
  let dir: string
  let url: string
  const open: KyselyEventStore[] = []
  const openStore = async (options: Parameters<typeof createStore>[1] = {}) => {
    const s = await createStore(url, { migrate: true, ...options })
    open.push(s)
    return s
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tally-rollups-'))
    url = `sqlite:${join(dir, 'tally.db')}`
  })
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('should leave rollups out of the insert and count every event once statistics are read', async () => {
    const store = await openStore({ rollupDelayMs: 60_000 })
    await store.insertBatch(events(30), [])
    expect(await rolledUp(store)).toBe(0) // not in the insert transaction
    const overview = await getOverview(store.db, store.storeDialect, 'p1', range)
    expect(overview.total).toBe(30)
    expect(await rolledUp(store)).toBe(30)
    const { mark, top } = await rollupBacklog(store.db)
    expect(mark).toBe(top)
  })

  it('should catch up on its own shortly after commits', async () => {
    const store = await openStore({ rollupDelayMs: 20 })
    await store.insertBatch(events(12), [])
    await expect.poll(() => rolledUp(store), { timeout: 5000 }).toBe(12)
  })

  it('should count events a crashed writer committed but never rolled up, exactly once', async () => {
    const crashed = await openStore({ rollupDelayMs: 60_000 })
    await crashed.insertBatch(events(25), [])
    // The writer "dies" here: its catch-up never runs. A new process opens the same file.
    const next = await openStore()
    expect(await rolledUp(next)).toBe(0)
    expect((await getOverview(next.db, next.storeDialect, 'p1', range)).total).toBe(25)
    expect(await rolledUp(next)).toBe(25)
    // The old writer's own catch-up (at close) finds nothing left and counts nothing twice.
    await crashed.close()
    open.splice(open.indexOf(crashed), 1)
    expect(await rolledUp(next)).toBe(25)
  })

  it('should count a new event that reuses the rowid of a deleted newest event', async () => {
    const store = await openStore({ rollupDelayMs: 60_000 })
    const first = events(3)
    await store.insertBatch(first, [])
    expect((await getOverview(store.db, store.storeDialect, 'p1', range)).total).toBe(3)
    // SQLite numbers the next row max(rowid) + 1: after this delete, the new event gets the deleted rowid.
    expect(await store.deleteEvent('p1', first[2].id)).toBe(true)
    await store.insertBatch(events(1), [])
    expect((await getOverview(store.db, store.storeDialect, 'p1', range)).total).toBe(3)
    expect(await rolledUp(store)).toBe(3)
  })

  it('should keep counts exact while the write worker and the main thread both catch up', async () => {
    // The server's set-up: group commits (and their catch-ups) run in the write worker, on its own
    // connection; statistics catch up from the main thread's connection. Both race for the same rows.
    const store = await openStore({ writeWorker: true, rollupDelayMs: 1 })
    const work: Promise<unknown>[] = []
    for (let i = 0; i < 20; i++) {
      work.push(store.insertBatch(events(10), []))
      work.push(store.insertBatch(events(10, { name: 'Order Completed' }), []))
      if (i % 4 === 0) work.push(store.refreshRollups())
    }
    await Promise.all(work)
    const overview = await getOverview(store.db, store.storeDialect, 'p1', range)
    expect(overview.total).toBe(400)
    expect(await rolledUp(store)).toBe(400)
    const byName = await sql<{
      name: string
      n: number
    }>`select name, sum(count) as n from stats_counts group by name order by name`.execute(store.db)
    expect(byName.rows.map((r) => [r.name, Number(r.n)])).toEqual([
      ['Order Completed', 200],
      ['Signed Up', 200],
    ])
  })

  it('should write rollups in each worker commit when deferral is off', async () => {
    // The worker receives encoded rows, not events: it counts them by catching up inside the commit.
    // (Before, the worker ignored `deferRollups: false` and deferred anyway.)
    const store = await openStore({ writeWorker: true, deferRollups: false, rollupDelayMs: 60_000 })
    await store.insertBatch(events(12), [])
    await store.insertBatch([...events(3), ...events(2, { name: 'Order Completed' })], [])
    expect(await rolledUp(store)).toBe(17)
    const { mark, top } = await rollupBacklog(store.db)
    expect(mark).toBe(top)
    expect((await getOverview(store.db, store.storeDialect, 'p1', range)).total).toBe(17)
  })

  it('should roll up performance values from the stored properties', async () => {
    const store = await openStore({ rollupDelayMs: 60_000 })
    const vitals = [100, 200, 300, 4000].map((value) =>
      makeEvent({
        type: 'performance',
        name: 'LCP',
        timestamp: new Date(T0 + 60_000).toISOString(),
        properties: { value, unit: 'ms' },
      }),
    )
    await store.insertBatch(vitals, [])
    const perf = await getPerformance(store.db, store.storeDialect, 'p1', range)
    const lcp = perf.metrics.find((m) => m.metric === 'LCP')
    expect(lcp?.count).toBe(4)
  })

  it('should not count twice when a store writes rollups in the insert transaction', async () => {
    // A custom rollup writer (bench/stats.ts times it this way) keeps rollups in the transaction; a
    // deferred writer's leftovers are counted first and the watermark then covers both.
    const deferred = await openStore({ rollupDelayMs: 60_000 })
    await deferred.insertBatch(events(5), [])
    const inTransaction = await openStore({ rollupWriter: (trx, d, evs) => writeRollups(trx, d, evs) })
    await inTransaction.insertBatch(events(7), [])
    expect(await rolledUp(inTransaction)).toBe(12)
    expect((await getOverview(inTransaction.db, inTransaction.storeDialect, 'p1', range)).total).toBe(12)
    expect(await rolledUp(inTransaction)).toBe(12)
  })
})
