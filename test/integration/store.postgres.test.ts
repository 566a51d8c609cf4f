import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createStore } from '../../src/store/create-store.js'
import {
  createFreshPostgresDatabase,
  type FreshDatabase,
  IN_CI,
  isPostgresReachable,
  TEST_PG_URL,
} from '../helpers/dialects.js'
import { runStoreConformance } from '../helpers/store-conformance.js'

// Outside CI a machine without PostgreSQL skips these; in CI (CI=true) they fail instead.
const reachable = await isPostgresReachable()
if (!reachable && IN_CI) {
  describe('PostgreSQL', () => {
    it('should be reachable in CI', () => {
      expect.fail(`PostgreSQL is not reachable at ${TEST_PG_URL.replace(/\/\/[^@/]*@/, '//***@')}`)
    })
  })
}

describe.runIf(reachable)('postgres', () => {
  let fresh: FreshDatabase
  beforeAll(async () => {
    fresh = await createFreshPostgresDatabase()
  })
  afterAll(async () => {
    await fresh?.drop()
  })

  runStoreConformance({
    name: 'postgres',
    async newStore() {
      // One database per file; each test starts from empty tables.
      const store = await createStore(fresh.url, { migrate: true, maxConnections: 5 })
      await store.db.deleteFrom('events').execute()
      await store.db.deleteFrom('event_dedupe').execute()
      await store.db.deleteFrom('failed_events').execute()
      await store.db.deleteFrom('schemas').execute()
      await store.db.deleteFrom('api_keys').execute()
      await store.db.deleteFrom('projects').execute()
      return store
    },
  })

  it('should report store_unavailable when the server cannot be reached', async () => {
    const store = await createStore('postgres://nobody@127.0.0.1:1/none')
    await expect(store.ping()).rejects.toMatchObject({ code: 'store_unavailable', retryAfterSeconds: 5 })
    await store.close()
  })
})
