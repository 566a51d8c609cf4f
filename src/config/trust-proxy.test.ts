import { afterEach, describe, expect, it } from 'vitest'
import { bearer, createTestApp, KEYS, type TestApp, trackEvent } from '../../test/integration/http-helpers.js'

let t: TestApp | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

async function storedIp(app: TestApp, forwardedFor: string): Promise<string> {
  const res = await app.app.server.inject({
    method: 'POST',
    url: '/api/v1/events',
    headers: { ...bearer(KEYS.write), 'x-forwarded-for': forwardedFor },
    payload: trackEvent(),
  })
  expect(res.statusCode).toBe(200)
  const event = await app.app.server.inject({
    url: `/api/v1/events/${res.json().results[0].id}`,
    headers: bearer(KEYS.read),
  })
  return event.json().context.ip
}

describe('TALLY_TRUST_PROXY as a hop count', () => {
  it('should take the client IP that many hops back in X-Forwarded-For', async () => {
    t = await createTestApp({ TALLY_TRUST_PROXY: '2' })
    // 127.0.0.1 (inject) and 198.51.100.9 are the two trusted hops; the client is 203.0.113.77.
    expect(await storedIp(t, '203.0.113.77, 198.51.100.9')).toBe('203.0.113.0')
  })

  it('should trust only the socket peer with a hop count of 1', async () => {
    t = await createTestApp({ TALLY_TRUST_PROXY: '1' })
    expect(await storedIp(t, '203.0.113.77, 198.51.100.9')).toBe('198.51.100.0')
  })
})
