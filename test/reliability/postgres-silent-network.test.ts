import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createApp, type TallyApp } from '../../src/app/create-app.js'
import { loadConfig } from '../../src/config/config.js'
import { createStore } from '../../src/store/create-store.js'
import {
  createFreshPostgresDatabase,
  type FreshDatabase,
  IN_CI,
  isPostgresReachable,
} from '../helpers/dialects.js'
import { bearer, KEYS } from '../integration/http-helpers.js'

const pgUp = await isPostgresReachable()

/**
 * A TCP relay in front of PostgreSQL that can go silent: from `silence()` on it keeps every connection
 * open and accepts new ones, but forwards nothing either way — a dropped route or a firewall that drops
 * packets, which no error ever reports. `speak()` forwards again on new connections.
 */
async function silenceableRelay(target: URL) {
  let silent = false
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => {})
    if (silent) return // accepted, never answered
    const upstream = new Socket()
    sockets.add(upstream)
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
    upstream.connect(Number(target.port || 5432), target.hostname, () => {
      client.on('data', (d) => {
        if (!silent) upstream.write(d)
      })
      upstream.on('data', (d) => {
        if (!silent) client.write(d)
      })
    })
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url(database: string) {
      const u = new URL(target)
      u.host = `127.0.0.1:${port}`
      u.pathname = `/${database}`
      return u.toString()
    },
    silence() {
      silent = true
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

describe.skipIf(!pgUp && !IN_CI)('PostgreSQL that stops answering (no error, no reset)', () => {
  let db: FreshDatabase | undefined
  let app: TallyApp | undefined
  let relay: Awaited<ReturnType<typeof silenceableRelay>> | undefined
  const dir = mkdtempSync(join(tmpdir(), 'tally-pg-silent-'))
  afterAll(async () => {
    await app?.close().catch(() => {})
    await relay?.close()
    await db?.drop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('should answer ingest, reads and /readyz with 503 store_unavailable in bounded time (they hung until the socket closed)', async () => {
    db = await createFreshPostgresDatabase()
    relay = await silenceableRelay(new URL(db.url))
    const url = relay.url(db.name)
    // Short client-side limits so the test is quick; the defaults are 10 s to connect and 35 s per query.
    const store = await createStore(url, { migrate: true, connectTimeoutMs: 1_000, queryTimeoutMs: 1_500 })
    const config = loadConfig({
      TALLY_DATABASE_URL: url,
      TALLY_LOG_LEVEL: 'silent',
      TALLY_WRITE_KEY: KEYS.write,
      TALLY_READ_KEY: KEYS.read,
      TALLY_ADMIN_KEY: KEYS.admin,
      TALLY_PORT: '0',
    })
    app = await createApp(config, { store })
    const server = app.server
    const ingest = () =>
      server.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: bearer(KEYS.write),
        payload: { type: 'track', name: 'Silent', userId: 'u1' },
      })
    expect((await ingest()).statusCode).toBe(200) // the key is known now, and the pool has connections

    relay.silence()
    const started = Date.now()
    const [ingested, read, ready] = await Promise.all([
      ingest(),
      server.inject({ method: 'GET', url: '/api/v1/events', headers: bearer(KEYS.read) }),
      server.inject({ method: 'GET', url: '/readyz' }),
    ])
    const took = Date.now() - started
    for (const res of [ingested, read, ready]) {
      expect(res.statusCode, res.body).toBe(503)
      expect(res.json().error.code).toBe('store_unavailable')
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
    }
    // /readyz gives up after its own 2 s; the others after the 1.5 s query timeout (or 1 s connect wait).
    expect(took).toBeLessThan(15_000)
  }, 60_000)
})
