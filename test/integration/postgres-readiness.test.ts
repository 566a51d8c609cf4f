import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createStore } from '../../src/store/create-store.js'
import type { KyselyEventStore } from '../../src/store/kysely-event-store.js'
import {
  createFreshPostgresDatabase,
  type FreshDatabase,
  IN_CI,
  isPostgresReachable,
  TEST_PG_URL,
} from '../helpers/dialects.js'

const pgUp = await isPostgresReachable()

/**
 * A server running as a role that may only read and write rows (docs/storage.md): readiness follows its
 * grants. A trial revoked SELECT on events: every query answered 503, and /readyz said ready all along.
 */
describe.skipIf(!pgUp && !IN_CI)('PostgreSQL readiness and the runtime role’s grants', () => {
  let db: FreshDatabase
  let owner: pg.Client
  let app: KyselyEventStore
  let role: string

  beforeAll(async () => {
    db = await createFreshPostgresDatabase()
    role = `${db.name}_app`
    const migrator = await createStore(db.url, { migrate: true })
    await migrator.close()
    owner = new pg.Client({ connectionString: db.url })
    await owner.connect()
    await owner.query(`create role ${role} login`)
    await owner.query(`grant usage on schema public to ${role}`)
    await owner.query(`grant select, insert, update, delete on all tables in schema public to ${role}`)
    const url = new URL(db.url)
    url.username = role
    app = (await createStore(url.toString())) as KyselyEventStore
  })
  afterAll(async () => {
    await app?.close()
    await owner?.end()
    await db?.drop()
    // Roles are the server's: dropped once the database holding its grants is gone.
    const admin = new pg.Client({ connectionString: TEST_PG_URL })
    await admin.connect()
    await admin.query(`drop role if exists ${role}`).finally(() => admin.end())
  })

  it('should be ready with row privileges only, and not ready, naming the grant, while one is missing', async () => {
    await expect(app.ping()).resolves.toBeUndefined()
    await owner.query(`revoke update on failed_events from ${role}`)
    await owner.query(`revoke select, insert on events from ${role}`)
    const refused = await app.ping().then(
      () => null,
      (e: { code?: string; message?: string }) => e,
    )
    expect(refused?.code).toBe('store_unavailable')
    expect(refused?.message).toMatch(/SELECT, INSERT on events; UPDATE on failed_events/)
    await owner.query(`grant select, insert on events to ${role}`)
    await owner.query(`grant update on failed_events to ${role}`)
    await expect(app.ping()).resolves.toBeUndefined()
  })
})
