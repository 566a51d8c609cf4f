import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { getOverview } from '../../src/stats/get-overview.js'
import { lockProjectRollups, writeRollups } from '../../src/stats/rollups/write-rollups.js'
import { createStore } from '../../src/store/create-store.js'
import { encodeBatch } from '../../src/store/event-rows.js'
import { insertBatchInTransaction } from '../../src/store/insert-batch.js'
import type { KyselyEventStore } from '../../src/store/kysely-event-store.js'
import { DEFAULT_PROJECT_SETTINGS } from '../../src/store/project-types.js'
import { createFreshPostgresDatabase, IN_CI, isPostgresReachable } from '../helpers/dialects.js'
import { makeEvent } from '../helpers/store-conformance.js'

const pgReachable = await isPostgresReachable()
const HOUR = 3_600_000
const T0 = Date.parse('2026-11-02T00:00:00.000Z')
const range = { from: new Date(T0 - 24 * HOUR).toISOString(), to: new Date(T0 + 48 * HOUR).toISOString() }

/** Project p1, with default settings, in `store`. */
function createProjectP1(store: KyselyEventStore): Promise<void> {
  return store.createProject({
    id: 'p1',
    name: 'p1',
    createdAt: new Date().toISOString(),
    settings: { ...DEFAULT_PROJECT_SETTINGS },
  })
}

/** A migrated store holding project p1: SQLite in memory, or a fresh PostgreSQL database (and its drop). */
async function openStore(
  dialect: 'sqlite' | 'postgres',
): Promise<{ store: KyselyEventStore; drop: () => Promise<void> }> {
  let url = 'sqlite::memory:'
  let drop = async () => {}
  if (dialect === 'postgres') {
    const fresh = await createFreshPostgresDatabase()
    url = fresh.url
    drop = () => fresh.drop()
  }
  const store = await createStore(url, { migrate: true })
  await createProjectP1(store)
  return { store, drop }
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.runIf(dialect === 'sqlite' || pgReachable || IN_CI)(`${dialect}: statistics after deletes`, () => {
    let store: KyselyEventStore
    let drop = async () => {}

    beforeEach(async () => {
      ;({ store, drop } = await openStore(dialect))
      // Alice: 3 events over two hours; Bob: 2 events, one in an hour Alice shares.
      const at = (ms: number) => new Date(T0 + ms).toISOString()
      await store.insertBatch(
        [
          makeEvent({
            userId: 'alice',
            anonymousId: 'a-alice',
            sessionId: 's-a',
            timestamp: at(10 * 60_000),
          }),
          makeEvent({
            userId: 'alice',
            anonymousId: 'a-alice',
            sessionId: 's-a',
            timestamp: at(20 * 60_000),
          }),
          makeEvent({ userId: 'alice', anonymousId: 'a-alice', sessionId: 's-a2', timestamp: at(5 * HOUR) }),
          makeEvent({ userId: 'bob', anonymousId: 'a-bob', sessionId: 's-b', timestamp: at(30 * 60_000) }),
          makeEvent({
            userId: 'bob',
            anonymousId: 'a-bob',
            sessionId: 's-b',
            timestamp: at(9 * HOUR),
            name: 'Order Completed',
          }),
        ],
        [],
      )
    })
    afterEach(async () => {
      await store.close()
      await drop()
    })

    const overview = () => getOverview(store.db, store.storeDialect, 'p1', range)

    it('should stop counting a user (events and uniques) after a GDPR erasure', async () => {
      expect(await overview()).toMatchObject({ total: 5, uniqueUsers: { value: 2 } })
      expect(await store.deleteWhere('p1', { userId: 'alice' })).toMatchObject({ events: 3 })
      const after = await overview()
      expect(after).toMatchObject({ total: 2, uniqueUsers: { value: 1 }, uniqueSessions: { value: 1 } })
      expect(after.topNames).toEqual(
        expect.arrayContaining([
          { type: 'track', name: 'Signed Up', count: 1 },
          { type: 'track', name: 'Order Completed', count: 1 },
        ]),
      )
    })

    it('should stop counting a single deleted event', async () => {
      const page = await store.queryEvents('p1', { userId: 'bob' })
      const orderCompleted = page.events.find((e) => e.name === 'Order Completed')!
      expect(await store.deleteEvent('p1', orderCompleted.id)).toBe(true)
      const after = await overview()
      expect(after.total).toBe(4)
      expect(after.topNames.find((n) => n.name === 'Order Completed')).toBeUndefined()
    })

    it('should drop the statistics of purged events', async () => {
      const purged = await store.purgeOlderThan(new Date(Date.now() + HOUR))
      expect(purged.events).toBe(5)
      expect(await overview()).toMatchObject({ total: 0, uniqueUsers: { value: 0 } })
    })
  })
}

// Erasure and purge run in short transactions (src/store/chunked-delete.ts): one transaction over a
// long-lived user's hours held SQLite's writer, and the whole server, for seconds.
for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.runIf(dialect === 'sqlite' || pgReachable || IN_CI)(`${dialect}: large deletions`, () => {
    let store: KyselyEventStore
    let drop = async () => {}
    const wide = { from: new Date(T0 - 24 * HOUR).toISOString(), to: new Date(T0 + 400 * HOUR).toISOString() }

    beforeEach(async () => {
      ;({ store, drop } = await openStore(dialect))
      // Carol: one event an hour for 300 hours (received then); Dave: one every 10 hours.
      const events = []
      for (let h = 0; h < 300; h++) {
        const at = new Date(T0 + h * HOUR + 60_000).toISOString()
        events.push(makeEvent({ userId: 'carol', anonymousId: 'a-carol', timestamp: at, receivedAt: at }))
        if (h % 10 === 0)
          events.push(makeEvent({ userId: 'dave', anonymousId: 'a-dave', timestamp: at, receivedAt: at }))
      }
      await store.insertBatch(events, [])
    })
    afterEach(async () => {
      await store.close()
      await drop()
    })

    const overview = () => getOverview(store.db, store.storeDialect, 'p1', wide)

    it('should erase a user seen over hundreds of hours and keep the statistics exact', async () => {
      expect(await overview()).toMatchObject({ total: 330, uniqueUsers: { value: 2 } })
      expect(await store.deleteWhere('p1', { anonymousId: 'a-carol' })).toEqual({
        events: 300,
        failedEvents: 0,
      })
      expect(await overview()).toMatchObject({ total: 30, uniqueUsers: { value: 1 } })
      expect((await store.queryEvents('p1', { userId: 'carol' })).events).toEqual([])
    })

    it('should keep statistics equal to the stored events between the slices of a purge of busy hours', async () => {
      // 6 busy hours of 1,500 events received then (purged) and 7 late events each, received a day later
      // (kept). Between any two slices — where a purge killed part-way stops — the statistics must count
      // exactly the events stored: rebuilding an hour from the events a purge keeps made the first slice
      // undercount the rest of the hour, for good if the purge never finished (a trial).
      const start = T0 + 500 * HOUR
      const events = []
      for (let h = 0; h < 6; h++) {
        for (let i = 0; i < 1_500; i++) {
          const at = new Date(start + h * HOUR + i * 2_000).toISOString()
          events.push(makeEvent({ userId: `busy-${i % 40}`, timestamp: at, receivedAt: at }))
        }
        for (let i = 0; i < 7; i++) {
          const at = new Date(start + h * HOUR + i * 1000).toISOString()
          const later = new Date(start + 30 * HOUR).toISOString()
          events.push(makeEvent({ userId: `late-${i}`, timestamp: at, receivedAt: later }))
        }
      }
      await store.insertBatch(events, [])
      const range = { from: new Date(start).toISOString(), to: new Date(start + 6 * HOUR).toISOString() }
      // Both counts from one snapshot, so no slice commits between them (PostgreSQL's default isolation
      // gives each statement its own).
      const snapshot =
        store.storeDialect.name === 'postgres'
          ? store.db.transaction().setIsolationLevel('repeatable read')
          : store.db.transaction()
      const observe = () =>
        snapshot.execute(async (trx) => {
          const stats = await getOverview(trx, store.storeDialect, 'p1', range)
          const stored = await trx
            .selectFrom('events')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('timestamp', '>=', store.storeDialect.toDbTime(range.from))
            .where('timestamp', '<', store.storeDialect.toDbTime(range.to))
            .executeTakeFirstOrThrow()
          return [stats.total, Number(stored.n)]
        })
      expect(await observe()).toEqual([9_042, 9_042])
      let done = false
      const purging = store.purgeOlderThan(new Date(start + 7 * HOUR)).finally(() => {
        done = true
      })
      const seen: number[][] = []
      while (!done) {
        seen.push(await observe())
        await new Promise((r) => setTimeout(r, 2))
      }
      expect((await purging).events).toBe(330 + 9_000)
      // Observed while the purge ran, not only before its first slice (it deletes 9,330 events in slices).
      expect(seen.length).toBeGreaterThanOrEqual(2)
      expect(seen.filter(([stats, stored]) => stats !== stored)).toEqual([])
      expect(await observe()).toEqual([42, 42])
      expect(await getOverview(store.db, store.storeDialect, 'p1', range)).toMatchObject({
        uniqueUsers: { value: 7 },
      })
    })

    it('should purge in slices and keep the statistics of what is left exact', async () => {
      const cutoff = new Date(T0 + 250 * HOUR) // hours 0–249 go: 250 of Carol's, 25 of Dave's
      expect(await store.purgeOlderThan(cutoff)).toEqual({ events: 275, failedEvents: 0 })
      expect(await overview()).toMatchObject({ total: 55, uniqueUsers: { value: 2 } })
      expect(await store.purgeOlderThan(cutoff)).toEqual({ events: 0, failedEvents: 0 })
    })

    if (dialect === 'sqlite')
      it('should let writes through while an erasure runs, and erase what the user sent meanwhile', async () => {
        const done: string[] = []
        const erasing = store.deleteWhere('p1', { userId: 'carol' }).then((r) => {
          done.push('erase')
          return r
        })
        // Arrives after the erasure started: with one transaction it waited for the whole erasure.
        const late = makeEvent({
          userId: 'carol',
          timestamp: new Date(T0 + 5 * HOUR).toISOString(),
          receivedAt: new Date(Date.now() + 11 * 60_000).toISOString(),
        })
        const writing = store.insertBatch([late], []).then((r) => {
          done.push('write')
          return r
        })
        const [erased, [written]] = await Promise.all([erasing, writing])
        expect(done).toEqual(['write', 'erase'])
        expect(written.status).toBe('accepted')
        // The event stored during the erasure belonged to the user too: the next round found it.
        expect(erased.events).toBe(301)
        expect((await store.queryEvents('p1', { userId: 'carol' })).events).toEqual([])
        expect(await overview()).toMatchObject({ total: 30, uniqueUsers: { value: 1 } })
      })

    it('should never write an event of an erased person that was received before the erasure (a scale-out backlog)', async () => {
      // A trial: the erasure answered "deleted 0" while the person's events waited in the stream, and the
      // worker stored them afterwards, traits and all.
      const receivedBefore = new Date(Date.now() - 60_000).toISOString()
      const backlog = [
        makeEvent({ userId: 'gdpr1', receivedAt: receivedBefore }),
        makeEvent({ userId: null, anonymousId: 'anon-gdpr', receivedAt: receivedBefore }),
        makeEvent({ userId: 'someone-else', receivedAt: receivedBefore }),
        // From an ingest node whose clock runs 2 minutes fast: sent before the erasure all the same.
        makeEvent({ userId: 'gdpr1', receivedAt: new Date(Date.now() + 120_000).toISOString() }),
      ]
      const failedBefore = {
        id: 'f-gdpr1',
        projectId: 'p1',
        receivedAt: receivedBefore,
        payload: { type: 'track', userId: 'gdpr1', messageId: 'g-3' },
        errors: [{ path: '/name', code: 'required' as const, message: 'required' }],
      }
      await store.deleteWhere('p1', { userId: 'gdpr1' })
      await store.deleteWhere('p1', { anonymousId: 'anon-gdpr' })
      const outcomes = await store.insertBatch(backlog, [failedBefore])
      // Said so: `accepted` with an id that named nothing once misled the sender.
      expect(outcomes.map((o) => o.status)).toEqual(['dropped', 'dropped', 'accepted', 'dropped'])
      expect((await store.queryEvents('p1', { userId: 'gdpr1' })).events).toEqual([])
      expect((await store.queryEvents('p1', { anonymousId: 'anon-gdpr' })).events).toEqual([])
      expect((await store.queryEvents('p1', { userId: 'someone-else' })).events).toHaveLength(1)
      expect((await store.listFailedEvents('p1', {})).failedEvents).toEqual([])
      // Sent again after the erasure (new consent, a new session): kept.
      // (beyond the clock margin: within it, a later receive time may be a fast clock's)
      const after = makeEvent({
        userId: 'gdpr1',
        receivedAt: new Date(Date.now() + 11 * 60_000).toISOString(),
      })
      await store.insertBatch([after], [])
      expect((await store.queryEvents('p1', { userId: 'gdpr1' })).events.map((e) => e.id)).toEqual([after.id])
      // The list of erasures keeps no identifier, and goes with the retention window.
      const remembered = await store.db.selectFrom('erasures').selectAll().execute()
      expect(remembered).toHaveLength(2)
      expect(JSON.stringify(remembered)).not.toMatch(/gdpr1|anon-gdpr/)
      await store.purgeOlderThan(new Date(Date.now() + 60_000))
      expect(await store.db.selectFrom('erasures').selectAll().execute()).toEqual([])
    })

    if (dialect === 'sqlite')
      it('should let writes through while a purge runs', async () => {
        // 1,530 events: more than the first slice (1,000) takes.
        const more = Array.from({ length: 1200 }, (_, i) => {
          const at = new Date(T0 + (i % 300) * HOUR + 120_000).toISOString()
          return makeEvent({ userId: 'frank', timestamp: at, receivedAt: at })
        })
        await store.insertBatch(more, [])
        const done: string[] = []
        const purging = store.purgeOlderThan(new Date(T0 + 400 * HOUR)).then((r) => {
          done.push('purge')
          return r
        })
        const now = new Date(T0 + 500 * HOUR).toISOString()
        const fresh = makeEvent({ userId: 'erin', timestamp: now, receivedAt: now })
        const writing = store.insertBatch([fresh], []).then(() => done.push('write'))
        const [purged] = await Promise.all([purging, writing])
        expect(done).toEqual(['write', 'purge'])
        expect(purged.events).toBe(1530)
      })
  })
}

// PostgreSQL: an erasure's rebuild deleted the hour's rollup rows and only then took the project's rollup
// lock, so an insert committed in between was counted twice (and the opposite lock orders deadlocked).
/**
 * Two servers on one fresh PostgreSQL database (`store` erases, `other` ingests), project p1 created, and a
 * gate: `other`'s transaction calls `holding()` then waits for `release()`, so an erasure can be started
 * while that transaction is open.
 */
async function withTwoServers(
  run: (t: {
    store: KyselyEventStore
    other: KyselyEventStore
    gate: Promise<void>
    holding: () => void
    held: Promise<void>
    release: () => void
  }) => Promise<void>,
): Promise<void> {
  const fresh = await createFreshPostgresDatabase()
  const store = await createStore(fresh.url, { migrate: true })
  const other = await createStore(fresh.url) // another server's connection, ingesting
  try {
    await createProjectP1(store)
    let release = () => {}
    const gate = new Promise<void>((r) => {
      release = r
    })
    let holding = () => {}
    const held = new Promise<void>((r) => {
      holding = r
    })
    await run({ store, other, gate, holding, held, release })
  } finally {
    await other.close()
    await store.close()
    await fresh.drop()
  }
}

describe.runIf(pgReachable || IN_CI)('postgres: erasure racing an insert', () => {
  it('should count an event inserted while an erasure waits, once', async () => {
    await withTwoServers(async ({ store, other, gate, holding, held, release }) => {
      const at = new Date(T0 + 10 * 60_000).toISOString()
      await store.insertBatch(
        [makeEvent({ userId: 'alice', timestamp: at }), makeEvent({ userId: 'bob', timestamp: at })],
        [],
      )
      // An insert transaction that holds the project's rollup lock (as ingest does) until released.
      const late = makeEvent({ userId: 'carol', name: 'Brand New', timestamp: at })
      const ingest = other.db.transaction().execute(async (trx) => {
        await lockProjectRollups(trx, other.storeDialect, ['p1'])
        holding()
        await gate
        await insertBatchInTransaction(
          trx,
          other.storeDialect,
          encodeBatch(other.storeDialect, [late], []),
          () => writeRollups(trx, other.storeDialect, [late]),
        )
      })
      await held
      const erasing = store.deleteWhere('p1', { userId: 'alice' })
      await new Promise((r) => setTimeout(r, 300)) // the erasure is now waiting for the lock
      release()
      await Promise.all([ingest, erasing])
      const overview = await getOverview(store.db, store.storeDialect, 'p1', range)
      expect(overview.total).toBe(2) // bob and carol
      expect(overview.topNames.find((n) => n.name === 'Brand New')?.count).toBe(1)
    })
  })
})

describe.runIf(pgReachable || IN_CI)('postgres: erasure racing a write that checked before it', () => {
  it('should erase an event whose write checked for erasures before the erasure and committed after its search', async () => {
    // A trial held such a write open: the erasure answered 0 and the event stayed.
    await withTwoServers(async ({ store, other, gate, holding, held, release }) => {
      const win = makeEvent({ userId: 'winU', receivedAt: new Date(Date.now() - 1000).toISOString() })
      const ingest = other.db.transaction().execute(async (trx) => {
        await insertBatchInTransaction(trx, other.storeDialect, encodeBatch(other.storeDialect, [win], []))
        holding() // checked (no erasure yet) and inserted; not committed
        await gate
      })
      await held
      const erasing = store.deleteWhere('p1', { userId: 'winU' })
      await new Promise((r) => setTimeout(r, 300)) // recorded, and waiting for the write in flight
      release()
      const [, erased] = await Promise.all([ingest, erasing])
      expect(erased.events).toBe(1)
      expect((await store.queryEvents('p1', { userId: 'winU' })).events).toEqual([])
    })
  })
})

// The write worker has its own connection: between two slices of an erasure it must get the lock, or ingest
// waits for the whole erasure (slices back to back left it no moment).
describe('sqlite file with the write worker: an erasure lets ingest through', () => {
  it('should commit an ingest group between the slices of a long erasure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-erase-worker-'))
    const store = await createStore(`sqlite:${join(dir, 'tally.db')}`, { migrate: true, writeWorker: true })
    try {
      await createProjectP1(store)
      const events = []
      for (let h = 0; h < 600; h++) {
        const at = new Date(T0 + h * HOUR + 60_000).toISOString()
        for (let k = 0; k < 5; k++)
          events.push(makeEvent({ userId: k === 0 ? 'carol' : `u${k}`, timestamp: at, receivedAt: at }))
      }
      await store.insertBatch(events, [])
      const done: string[] = []
      const erasing = store.deleteWhere('p1', { userId: 'carol' }).then(() => done.push('erase'))
      await new Promise((r) => setTimeout(r, 30)) // the erasure is under way
      const fresh = makeEvent({ userId: 'erin', timestamp: new Date(T0).toISOString() })
      const writing = store.insertBatch([fresh], []).then(() => done.push('write'))
      await Promise.all([erasing, writing])
      expect(done).toEqual(['write', 'erase'])
    } finally {
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
