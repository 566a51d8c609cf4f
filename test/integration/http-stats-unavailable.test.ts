import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { afterEach, expect, it } from 'vitest'
import { bearer, createTestApp, KEYS, type TestApp } from './http-helpers.js'

let t: TestApp | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

// The statistics query the database directly (not through the store's methods): a database locked by
// another process (a `tally purge`, an import) answered 500 instead of 503 store_unavailable.
it('should answer a statistic 503 store_unavailable with Retry-After while another process holds the write lock', async () => {
  t = await createTestApp({ TALLY_SQLITE_WRITE_WORKER: 'false' })
  const ingest = await t.app.server.inject({
    method: 'POST',
    url: '/api/v1/events',
    headers: bearer(KEYS.write),
    payload: { type: 'track', name: 'Locked Out', userId: 'u1' },
  })
  expect(ingest.json().accepted).toBe(1)
  // The new event's rollups are pending: the statistic must write them first, and cannot.
  const other = new BetterSqlite3(join(t.dir, 'tally.db'))
  other.exec('begin immediate')
  try {
    const res = await t.app.server.inject({ url: '/api/v1/stats/overview', headers: bearer(KEYS.read) })
    expect(res.statusCode).toBe(503)
    expect(res.json().error.code).toBe('store_unavailable')
    expect(res.headers['retry-after']).toBeDefined()
  } finally {
    other.exec('rollback')
    other.close()
  }
  const after = await t.app.server.inject({ url: '/api/v1/stats/overview', headers: bearer(KEYS.read) })
  expect(after.statusCode).toBe(200)
  expect(after.json().total).toBe(1)
}, 30_000)

// better-sqlite3 waits for a lock synchronously: a claim arriving while another process wrote froze the
// whole server (health checks included) for up to busy_timeout. The driver now waits between attempts.
it('should keep answering other requests while a write waits for another process to release the database', async () => {
  t = await createTestApp()
  const other = new BetterSqlite3(join(t.dir, 'tally.db'))
  other.exec('begin immediate')
  const done: string[] = []
  const claim = t.app.server
    .inject({
      method: 'POST',
      url: '/api/v1/processing/claim',
      headers: bearer(KEYS.admin),
      payload: { consumer: 'warehouse', limit: 10 },
    })
    .then((res) => {
      done.push('claim')
      return res
    })
  await new Promise((r) => setTimeout(r, 100)) // the claim is waiting for the lock
  const health = await t.app.server.inject({ url: '/healthz' })
  done.push('healthz')
  expect(health.statusCode).toBe(200)
  other.exec('commit')
  other.close()
  expect((await claim).statusCode).toBe(200)
  expect(done).toEqual(['healthz', 'claim'])
}, 30_000)
