import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { getOverview } from '../../src/stats/get-overview.js'
import { createStore } from '../../src/store/create-store.js'
import type { KyselyEventStore } from '../../src/store/kysely-event-store.js'
import { DEFAULT_PROJECT_SETTINGS } from '../../src/store/project-types.js'
import { createFreshPostgresDatabase, IN_CI, isPostgresReachable } from '../helpers/dialects.js'
import { makeEvent } from '../helpers/store-conformance.js'

const pgReachable = await isPostgresReachable()
const HOUR = 3_600_000
const T0 = Date.parse('2026-11-02T00:00:00.000Z')
const range = { from: new Date(T0 - 24 * HOUR).toISOString(), to: new Date(T0 + 48 * HOUR).toISOString() }

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.runIf(dialect === 'sqlite' || pgReachable || IN_CI)(`${dialect}: statistics after deletes`, () => {
    let store: KyselyEventStore
    let drop = async () => {}

    beforeEach(async () => {
      let url = 'sqlite::memory:'
      if (dialect === 'postgres') {
        const fresh = await createFreshPostgresDatabase()
        url = fresh.url
        drop = () => fresh.drop()
      }
      store = await createStore(url, { migrate: true })
      await store.createProject({
        id: 'p1',
        name: 'p1',
        createdAt: new Date().toISOString(),
        settings: { ...DEFAULT_PROJECT_SETTINGS },
      })
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
