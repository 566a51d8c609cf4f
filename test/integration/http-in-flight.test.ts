import { Agent, request } from 'node:http'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { afterEach, expect, it } from 'vitest'
import { bearer, createTestApp, KEYS, type TestApp, trackEvent } from './http-helpers.js'

let t: TestApp | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

// The in-flight limit counted ingest requests parked on their group commit: with 100 browsers sending
// single events, 36 of them were refused 503 at any moment although one commit would have taken them all
// (bench/http --single-connections 100: 2,779 events/s answered, 9,464 requests refused). Ingest requests
// waiting for a commit are bounded by the write queue (TALLY_INGEST_QUEUE_MAX), not by TALLY_MAX_IN_FLIGHT.
it('should take more concurrent ingest requests than TALLY_MAX_IN_FLIGHT while they wait for their commit', async () => {
  t = await createTestApp({ TALLY_MAX_IN_FLIGHT: '2', TALLY_RATE_LIMIT_MAX: '0' })
  // Warm the write path (the write worker, the project cache) so the lock below is what they wait on.
  const warm = await t.app.server.inject({
    method: 'POST',
    url: '/api/v1/events',
    headers: bearer(KEYS.write),
    payload: trackEvent({ name: 'Warm' }),
  })
  expect(warm.json().accepted).toBe(1)
  const other = new BetterSqlite3(join(t.dir, 'tally.db'))
  other.exec('begin immediate') // another process writes: every commit waits
  let released = false
  try {
    const ingests = Array.from({ length: 6 }, (_, i) =>
      t!.app.server.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: bearer(KEYS.write),
        payload: trackEvent({ messageId: `parked-${i}` }),
      }),
    )
    await new Promise((r) => setTimeout(r, 300)) // all six are parked on the locked commit
    // The read API is not starved by them either (WAL readers do not wait for the writer).
    const read = await t.app.server.inject({ url: '/api/v1/events?limit=1', headers: bearer(KEYS.read) })
    expect(read.statusCode).toBe(200)
    other.exec('commit')
    released = true
    const answers = await Promise.all(ingests)
    expect(
      answers.map((a) => a.statusCode),
      answers.map((a) => a.body).join(),
    ).toEqual([200, 200, 200, 200, 200, 200])
    expect(answers.map((a) => a.json().accepted)).toEqual([1, 1, 1, 1, 1, 1])
  } finally {
    if (!released) other.exec('rollback')
    other.close()
  }
  const stored = await t.app.server.inject({
    url: '/api/v1/events?names=Order%20Completed&limit=100',
    headers: bearer(KEYS.read),
  })
  expect(stored.json().events, stored.body).toHaveLength(6)
}, 30_000)

it('should still refuse requests beyond TALLY_MAX_IN_FLIGHT that are not parked on a commit', async () => {
  t = await createTestApp({ TALLY_MAX_IN_FLIGHT: '1', TALLY_RATE_LIMIT_MAX: '0' })
  // The read key is looked up once, before the lock (lookups share the connection the claim will hold).
  expect((await t.app.server.inject({ url: '/api/v1/project', headers: bearer(KEYS.read) })).statusCode).toBe(
    200,
  )
  const other = new BetterSqlite3(join(t.dir, 'tally.db'))
  other.exec('begin immediate')
  try {
    // A claim writes (leases) and so waits for the lock, holding its slot.
    const claim = t.app.server.inject({
      method: 'POST',
      url: '/api/v1/processing/claim',
      headers: bearer(KEYS.admin),
      payload: { consumer: 'warehouse', limit: 10 },
    })
    await new Promise((r) => setTimeout(r, 200))
    const refused = await t.app.server.inject({ url: '/api/v1/project', headers: bearer(KEYS.read) })
    expect(refused.statusCode).toBe(503)
    expect(refused.json().error.code).toBe('overloaded')
    expect(refused.headers['retry-after']).toBe('1')
    other.exec('commit')
    const claimed = await claim
    expect(claimed.statusCode, claimed.body).toBe(200)
  } finally {
    if (other.inTransaction) other.exec('rollback')
    other.close()
  }
}, 30_000)

// Answers sent after shutdown began said `Connection: keep-alive`: the client's next request on that socket
// was reset by the closing server (32 socket errors for 48 keep-alive clients at one SIGTERM).
it('should close the connection of each answer once shutdown has begun', async () => {
  t = await createTestApp({ TALLY_RATE_LIMIT_MAX: '0' })
  const url = await t.app.listen()
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const send = (messageId: string) =>
    new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = request(
        `${url}/api/v1/events`,
        { method: 'POST', agent, headers: { ...bearer(KEYS.write), 'content-type': 'application/json' } },
        (res) => {
          res.resume()
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }))
        },
      )
      req.on('error', reject)
      req.end(JSON.stringify(trackEvent({ messageId })))
    })
  try {
    expect(await send('before')).toEqual({ status: 200, connection: 'keep-alive' })
    const other = new BetterSqlite3(join(t.dir, 'tally.db'))
    other.exec('begin immediate') // the next request waits for its commit while shutdown begins
    const inFlight = send('during')
    await new Promise((r) => setTimeout(r, 200))
    const closed = t.app.close()
    await new Promise((r) => setTimeout(r, 100))
    other.exec('commit')
    other.close()
    expect(await inFlight).toEqual({ status: 200, connection: 'close' })
    await closed
  } finally {
    agent.destroy()
  }
}, 30_000)

// The connection timeout (twice TALLY_REQUEST_TIMEOUT_MS) closed the socket of a GDPR erasure still at work:
// on PostgreSQL a person with 20,264 events over a year took 216 s, and the admin got an empty reply at 60 s.
it('should answer an erasure that takes longer than the connection timeout', async () => {
  t = await createTestApp({ TALLY_REQUEST_TIMEOUT_MS: '1000', TALLY_RATE_LIMIT_MAX: '0' })
  const url = await t.app.listen()
  const other = new BetterSqlite3(join(t.dir, 'tally.db'))
  other.exec('begin immediate') // the erasure waits for another process's write: 3 s, past the 2 s timeout
  const release = setTimeout(() => other.exec('commit'), 3_000)
  try {
    const res = await fetch(`${url}/api/v1/events/delete`, {
      method: 'POST',
      headers: { ...bearer(KEYS.admin), 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'slow-erasure' }),
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ events: 0, failedEvents: 0 })
  } finally {
    clearTimeout(release)
    if (other.inTransaction) other.exec('rollback')
    other.close()
  }
}, 30_000)

// With requests parked on their commit no longer counted in flight, only the event count bounded the
// queue: 50,000 events of 32 KB (1.6 GB) could wait on a slow database.
it('should answer 503 overloaded once the bodies waiting for a commit pass TALLY_INGEST_QUEUE_MAX_BYTES', async () => {
  t = await createTestApp({ TALLY_INGEST_QUEUE_MAX_BYTES: String(1024 * 1024), TALLY_RATE_LIMIT_MAX: '0' })
  const big = (tag: string) => ({
    events: Array.from({ length: 15 }, (_, i) =>
      trackEvent({ messageId: `${tag}-${i}`, properties: { pad: 'x'.repeat(26_000) } }),
    ),
  })
  const post = (tag: string) =>
    t!.app.server.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: bearer(KEYS.write),
      payload: big(tag),
    })
  expect((await post('warm')).statusCode).toBe(200)
  const other = new BetterSqlite3(join(t.dir, 'tally.db'))
  other.exec('begin immediate')
  let released = false
  try {
    const writing = post('a') // taken by the writer, waiting on the lock
    await new Promise((r) => setTimeout(r, 200))
    const queued = [post('b'), post('c')] // ~800 KB waiting
    await new Promise((r) => setTimeout(r, 200))
    const refused = await post('d')
    expect(refused.statusCode).toBe(503)
    expect(refused.json().error.code).toBe('overloaded')
    expect(refused.headers['retry-after']).toBeDefined()
    other.exec('commit')
    released = true
    expect((await Promise.all([writing, ...queued])).map((r) => r.statusCode)).toEqual([200, 200, 200])
  } finally {
    if (!released) other.exec('rollback')
    other.close()
  }
}, 30_000)
