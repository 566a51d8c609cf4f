import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createStore } from '../../src/store/create-store.js'
import type { KyselyEventStore } from '../../src/store/kysely-event-store.js'
import { DEFAULT_PROJECT_SETTINGS } from '../../src/store/project-types.js'
import {
  createFreshPostgresDatabase,
  type FreshDatabase,
  IN_CI,
  isPostgresReachable,
} from '../helpers/dialects.js'

const pgUp = await isPostgresReachable()

// Two stores on one database: two Tally servers behind a load balancer, each with its own pool.
describe.skipIf(!pgUp && !IN_CI)('PostgreSQL: administrative changes from two servers at once', () => {
  let db: FreshDatabase
  let a: KyselyEventStore
  let b: KyselyEventStore
  beforeAll(async () => {
    db = await createFreshPostgresDatabase()
    a = await createStore(db.url, { migrate: true })
    b = await createStore(db.url)
    await a.createProject({
      id: 'p1',
      name: 'Shop',
      createdAt: new Date().toISOString(),
      settings: { ...DEFAULT_PROJECT_SETTINGS },
    })
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    await db?.drop()
  })

  it('should keep both of two settings changes made at the same moment (one was lost in 8 of 30 pairs)', async () => {
    const lost: number[] = []
    for (let round = 0; round < 30; round++) {
      await a.updateProjectSettings('p1', { storeRawIp: false, dropBots: false })
      await Promise.all([
        a.updateProjectSettings('p1', { storeRawIp: true }),
        b.updateProjectSettings('p1', { dropBots: true }),
      ])
      const { settings } = (await a.getProject('p1'))!
      if (!settings.storeRawIp || !settings.dropBots) lost.push(round)
    }
    expect(lost).toEqual([])
  })
})
