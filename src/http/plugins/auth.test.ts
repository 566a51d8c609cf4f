import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  bearer,
  createTestApp,
  KEYS,
  type TestApp,
  trackEvent,
} from '../../../test/integration/http-helpers.js'

let t: TestApp | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

describe('rate limit on failed authentication', () => {
  it('should answer 429 + Retry-After once an IP has sent more bad or missing keys than the limit', async () => {
    t = await createTestApp({ TALLY_RATE_LIMIT_MAX: '5', TALLY_RATE_LIMIT_WINDOW_MS: '60000' })
    const codes: number[] = []
    let limited: { headers: Record<string, unknown>; json: () => { error: { code: string } } } | undefined
    for (let i = 0; i < 8; i++) {
      const headers = i % 2 === 0 ? bearer(`tly_a_guess-${i}-0123456789`) : {}
      const res = await t.app.server.inject({ url: '/api/v1/keys', headers })
      codes.push(res.statusCode)
      if (res.statusCode === 429) limited = res
    }
    expect(codes).toEqual([401, 401, 401, 401, 401, 429, 429, 429])
    expect(Number(limited?.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(limited?.json().error.code).toBe('rate_limited')
  })

  it('should count Segment ingest with a wrong write key the same way', async () => {
    t = await createTestApp({ TALLY_RATE_LIMIT_MAX: '2' })
    const basic = { authorization: `Basic ${Buffer.from('tly_w_wrong-key-0123456789:').toString('base64')}` }
    const codes: number[] = []
    for (let i = 0; i < 4; i++) {
      const res = await t.app.server.inject({
        method: 'POST',
        url: '/v1/track',
        headers: basic,
        payload: { userId: 'u1', event: 'x' },
      })
      codes.push(res.statusCode)
    }
    expect(codes).toEqual([401, 401, 429, 429])
  })

  it('should not look the key up once the IP is limited, and leave other IPs and valid keys their own budget', async () => {
    t = await createTestApp({ TALLY_RATE_LIMIT_MAX: '3' })
    const store = t.app.store
    let lookups = 0
    const find = store.findApiKeyByHash.bind(store)
    store.findApiKeyByHash = (hash: string) => {
      lookups++
      return find(hash)
    }
    const bad = (remoteAddress: string) =>
      t!.app.server.inject({
        url: '/api/v1/project',
        headers: bearer('tly_r_nope-0123456789'),
        remoteAddress,
      })
    for (let i = 0; i < 3; i++) expect((await bad('198.51.100.1')).statusCode).toBe(401)
    expect(lookups).toBe(3)
    expect((await bad('198.51.100.1')).statusCode).toBe(429)
    expect(lookups).toBe(3)
    // Another address is not affected.
    expect((await bad('198.51.100.2')).statusCode).toBe(401)
    const ok = await t.app.server.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: bearer(KEYS.write),
      payload: trackEvent(),
      remoteAddress: '198.51.100.3',
    })
    expect(ok.statusCode).toBe(200)
    // Successful requests do not use up the failed-authentication budget of their address.
    expect((await bad('198.51.100.3')).statusCode).toBe(401)
  })

  it('should still let a key already confirmed through from a limited address (one office, one bad client)', async () => {
    t = await createTestApp({ TALLY_RATE_LIMIT_MAX: '3' })
    const office = '192.0.2.10'
    const send = (key: string) =>
      t!.app.server.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: bearer(key),
        payload: trackEvent(),
        remoteAddress: office,
      })
    expect((await send(KEYS.write)).statusCode).toBe(200) // confirmed, now cached
    for (let i = 0; i < 3; i++) expect((await send('tly_w_wrong-0123456789')).statusCode).toBe(401)
    expect((await send('tly_w_wrong-0123456789')).statusCode).toBe(429)
    expect((await send(KEYS.write)).statusCode).toBe(200)
    // Past the key cache's 10 s but within the window: still confirmed (it was 429 "without a valid key").
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 15_000 })
    try {
      const later = await send(KEYS.write)
      expect(later.statusCode, later.body).toBe(200)
      const wrong = await send('tly_w_wrong-0123456789')
      expect(wrong.statusCode).toBe(429)
      expect(wrong.json().error.message).toMatch(/missing or wrong API key from this address/)
    } finally {
      vi.useRealTimers()
    }
  })

  it('should let a confirmed write key sent in a Segment body through a limited address (it got 429)', async () => {
    // Browsers (Analytics.js 2.0, beacons) send the key in the body, not in a header.
    t = await createTestApp({ TALLY_RATE_LIMIT_MAX: '3' })
    const office = '192.0.2.20'
    const beacon = (writeKey: string) =>
      t!.app.server.inject({
        method: 'POST',
        url: '/v1/t',
        headers: { 'content-type': 'text/plain' },
        payload: JSON.stringify({ writeKey, type: 'track', event: 'Viewed', anonymousId: 'a1' }),
        remoteAddress: office,
      })
    expect((await beacon(KEYS.write)).statusCode).toBe(200) // confirmed, now cached
    for (let i = 0; i < 3; i++) expect((await beacon('tly_w_wrong-0123456789')).statusCode).toBe(401)
    expect((await beacon('tly_w_wrong-0123456789')).statusCode).toBe(429)
    expect((await beacon(KEYS.write)).statusCode).toBe(200)
    // Without any key, and on the native routes (header keys only), the address stays limited.
    const bare = await t.app.server.inject({
      method: 'POST',
      url: '/v1/track',
      payload: { event: 'x', userId: 'u' },
      remoteAddress: office,
    })
    expect(bare.statusCode).toBe(429)
    const native = await t.app.server.inject({
      method: 'POST',
      url: '/api/v1/events',
      payload: { ...trackEvent(), writeKey: KEYS.write },
      remoteAddress: office,
    })
    expect(native.statusCode).toBe(429)
  })

  it('should not limit failed authentication when rate limiting is off', async () => {
    t = await createTestApp({ TALLY_RATE_LIMIT_MAX: '0' })
    for (let i = 0; i < 5; i++) {
      const res = await t.app.server.inject({ url: '/api/v1/keys' })
      expect(res.statusCode).toBe(401)
    }
  })
})
