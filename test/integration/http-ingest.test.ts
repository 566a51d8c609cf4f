import { gzipSync } from 'node:zlib'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bearer, createTestApp, KEYS, type TestApp, trackEvent } from './http-helpers.js'

let t: TestApp
beforeEach(async () => {
  t = await createTestApp()
})
afterEach(async () => {
  await t.close()
})

const post = (payload: unknown, headers: Record<string, string> = bearer(KEYS.write)) =>
  t.app.server.inject({ method: 'POST', url: '/api/v1/events', headers, payload: payload as string })

describe('POST /api/v1/events', () => {
  it('should accept a single event and store it readable by the read key', async () => {
    const res = await post(trackEvent({ messageId: 'm-1' }))
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body).toMatchObject({
      accepted: 1,
      duplicates: 0,
      rejected: 0,
      results: [{ index: 0, status: 'accepted' }],
    })
    const read = await t.app.server.inject({
      url: `/api/v1/events/${body.results[0].id}`,
      headers: bearer(KEYS.read),
    })
    expect(read.statusCode).toBe(200)
    expect(read.json()).toMatchObject({
      type: 'track',
      name: 'Order Completed',
      userId: 'user-1',
      messageId: 'm-1',
    })
  })

  it('should answer per event for a batch, report a retried messageId as duplicate', async () => {
    const events = [trackEvent({ messageId: 'a' }), { type: 'track' }, trackEvent({ messageId: 'b' })]
    const first = (await post({ events })).json()
    expect(first).toMatchObject({ accepted: 2, rejected: 1, duplicates: 0 })
    expect(first.results[1].status).toBe('rejected')
    expect(first.results[1].errors.length).toBeGreaterThan(0)
    const retry = (await post({ events: [trackEvent({ messageId: 'a' })] })).json()
    expect(retry).toMatchObject({ accepted: 0, duplicates: 1 })
    expect(retry.results[0].id).toBe(first.results[0].id)
  })

  it('should answer dropped, not accepted, for an event of a person erased just before (the write worker)', async () => {
    // Within the erasure's clock margin an event of the person is not written: it was answered `accepted`
    // with an id that named nothing.
    expect((await post(trackEvent({ userId: 'gdpr-late', messageId: 'before' }))).json().accepted).toBe(1)
    const erased = await t.app.server.inject({
      method: 'POST',
      url: '/api/v1/events/delete',
      headers: bearer(KEYS.admin),
      payload: { userId: 'gdpr-late' },
    })
    expect(erased.json()).toMatchObject({ events: 1 })
    const late = (
      await post({ events: [trackEvent({ userId: 'gdpr-late' }), trackEvent({ userId: 'other' })] })
    ).json()
    expect(late).toMatchObject({ accepted: 1, dropped: 1, duplicates: 0, rejected: 0 })
    expect(late.results[0]).toEqual({ index: 0, status: 'dropped' })
    expect(late.results[1]).toMatchObject({ index: 1, status: 'accepted', id: expect.any(String) })
    const stored = await t.app.server.inject({
      url: '/api/v1/events?userId=gdpr-late',
      headers: bearer(KEYS.read),
    })
    expect(stored.json().events).toEqual([])
  })

  it('should accept a bare array of events', async () => {
    const res = await post([trackEvent(), trackEvent({ name: 'Second' })])
    expect(res.json()).toMatchObject({ accepted: 2 })
  })

  it('should report __proto__ in an event as forbidden_key for that event only', async () => {
    const payload = `{"events":[{"type":"track","name":"x","userId":"u","properties":{"__proto__":{"polluted":1}}},${JSON.stringify(trackEvent())}]}`
    const res = await post(payload, { ...bearer(KEYS.write), 'content-type': 'application/json' })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.accepted).toBe(1)
    expect(body.results[0].status).toBe('rejected')
    expect(body.results[0].errors.map((e: { code: string }) => e.code)).toContain('forbidden_key')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('should accept text/plain bodies as sendBeacon sends them', async () => {
    const res = await post(JSON.stringify(trackEvent()), {
      ...bearer(KEYS.write),
      'content-type': 'text/plain;charset=UTF-8',
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().accepted).toBe(1)
  })

  it('should decode gzip and deflate bodies', async () => {
    const body = gzipSync(JSON.stringify({ events: [trackEvent(), trackEvent()] }))
    const res = await post(body as unknown as string, {
      ...bearer(KEYS.write),
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().accepted).toBe(2)
  })

  it('should refuse a gzip bomb by its decompressed size with 413', async () => {
    const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x20)) // ~20 KB compressed, 20 MB inflated
    expect(bomb.length).toBeLessThan(100 * 1024)
    const res = await post(bomb as unknown as string, {
      ...bearer(KEYS.write),
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    })
    expect(res.statusCode).toBe(413)
    expect(res.json().error.code).toBe('payload_too_large')
  })

  it('should refuse corrupt gzip with 400 invalid_encoding and an unknown encoding with 415', async () => {
    const headers = { ...bearer(KEYS.write), 'content-type': 'application/json' }
    const corrupt = await post('not gzip', { ...headers, 'content-encoding': 'gzip' })
    expect(corrupt.statusCode).toBe(400)
    expect(corrupt.json().error.code).toBe('invalid_encoding')
    const unknown = await post('{}', { ...headers, 'content-encoding': 'zstd' })
    expect(unknown.statusCode).toBe(415)
    expect(unknown.json().error.code).toBe('unsupported_media_type')
  })

  it('should refuse a body that is not UTF-8, or declares another charset, instead of storing it altered', async () => {
    // Found by a user's trial: invalid bytes became U+FFFD and the event was accepted; utf-16 was read as UTF-8.
    const event = Buffer.from(JSON.stringify(trackEvent({ properties: { s: 'caf#' } })))
    const latin1 = Buffer.from(event)
    latin1[latin1.indexOf('#')] = 0xe9 // "é" in Latin-1: not UTF-8
    const invalid = await post(latin1, { ...bearer(KEYS.write), 'content-type': 'application/json' })
    expect([invalid.statusCode, invalid.json().error.code]).toEqual([400, 'invalid_encoding'])
    const utf16 = await post(event, {
      ...bearer(KEYS.write),
      'content-type': 'application/json; charset=utf-16',
    })
    expect([utf16.statusCode, utf16.json().error.code]).toEqual([415, 'unsupported_media_type'])
    const ok = await post(event, { ...bearer(KEYS.write), 'content-type': 'application/json; charset=UTF-8' })
    expect(ok.json().accepted).toBe(1)
    // A +json type with parameters too (it was a 415), and its charset checked as for application/json.
    const vendor = await post(Buffer.from(JSON.stringify(trackEvent())), {
      ...bearer(KEYS.write),
      'content-type': 'application/vnd.acme.event+json; charset=utf-8',
    })
    expect([vendor.statusCode, vendor.json().accepted]).toEqual([200, 1])
    const vendor16 = await post(event, {
      ...bearer(KEYS.write),
      'content-type': 'application/vnd.acme.event+json;charset=utf-16',
    })
    expect([vendor16.statusCode, vendor16.json().error.code]).toEqual([415, 'unsupported_media_type'])
  })

  it('should refuse a body over the limit with 413', async () => {
    const big = JSON.stringify({ events: [trackEvent({ properties: { blob: 'x'.repeat(600 * 1024) } })] })
    const res = await post(big, { ...bearer(KEYS.write), 'content-type': 'application/json' })
    expect(res.statusCode).toBe(413)
    expect(res.json()).toEqual({
      error: { code: 'payload_too_large', message: expect.any(String), statusCode: 413 },
    })
  })

  it('should refuse more events than one request may carry as a whole, before storing any', async () => {
    // 500 KB of `{}` was 166,666 events: each validated, answered and kept as a failed event (23 s).
    const many = JSON.stringify(Array.from({ length: 2_501 }, () => ({})))
    const res = await post(many, { ...bearer(KEYS.write), 'content-type': 'application/json' })
    expect(res.statusCode).toBe(413)
    expect(res.json().error).toMatchObject({
      code: 'payload_too_large',
      message: expect.stringContaining('2501 events'),
    })
    const segment = await t.app.server.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: { ...bearer(KEYS.write), 'content-type': 'application/json' },
      payload: { batch: Array.from({ length: 2_501 }, () => ({ type: 'track', event: 'x', userId: 'u' })) },
    })
    expect([segment.statusCode, segment.json().error.code]).toEqual([400, 'payload_too_large'])
    const failed = await t.app.server.inject({ url: '/api/v1/failed-events', headers: bearer(KEYS.read) })
    expect(failed.json().failedEvents).toEqual([])
    // The limit itself passes.
    const atLimit = JSON.stringify(
      Array.from({ length: 2_500 }, (_, i) => trackEvent({ messageId: `m${i}` })),
    )
    expect(
      (await post(atLimit, { ...bearer(KEYS.write), 'content-type': 'application/json' })).json(),
    ).toMatchObject({
      accepted: 2_500,
    })
  })

  it.each([
    ['invalid JSON', '{"events": [', 'application/json', 400, 'invalid_json'],
    ['an empty body', '', 'application/json', 400, 'invalid_body'],
    ['whitespace only', '   ', 'application/json', 400, 'invalid_body'],
    ['a JSON string', '"hello"', 'application/json', 400, 'invalid_body'],
    ['a JSON number', '42', 'application/json', 400, 'invalid_body'],
    ['null', 'null', 'application/json', 400, 'invalid_body'],
    ['events that is no array', '{"events": 3}', 'application/json', 400, 'invalid_body'],
    ['form data', 'a=1', 'application/x-www-form-urlencoded', 415, 'unsupported_media_type'],
    ['XML', '<a/>', 'application/xml', 415, 'unsupported_media_type'],
  ])('should refuse %s as a whole with the error body', async (_name, payload, type, status, code) => {
    const res = await post(payload, { ...bearer(KEYS.write), 'content-type': type })
    expect(res.statusCode).toBe(status)
    expect(res.json().error).toMatchObject({ code, statusCode: status })
  })

  it('should refuse a body without a content type with 400 or 415, never 500', async () => {
    const res = await t.app.server.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: bearer(KEYS.write),
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe('invalid_body')
  })

  it('should never answer 500 to hostile bodies', async () => {
    const deep = `{"type":"track","name":"x","userId":"u","properties":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`
    const hostile = [
      deep,
      `[${'['.repeat(100_000)}${']'.repeat(100_000)}]`,
      '{"type":"track","name":"\\ud800","userId":"u"}',
      '{"type":"track","name":"x","userId":"u","properties":{"n":1e400}}',
      '{"constructor":{"prototype":{"x":1}},"type":"track","name":"x","userId":"u"}',
      JSON.stringify({ events: Array.from({ length: 5000 }, () => 1) }),
      JSON.stringify({
        events: [{ type: 'page', anonymousId: 'a', context: { page: { url: 'http://[::1' } } }],
      }),
      JSON.stringify({ type: 'track', name: 'x', userId: 'u', timestamp: '9999-12-31T23:59:59Z' }),
      JSON.stringify({ type: 'nope' }),
    ]
    for (const payload of hostile) {
      const res = await post(payload, { ...bearer(KEYS.write), 'content-type': 'application/json' })
      expect(res.statusCode, payload.slice(0, 80)).toBeLessThan(500)
    }
  })
})

describe('POST /api/v1/events auth', () => {
  it('should answer 401 without a key, with an unknown key, or a malformed header', async () => {
    for (const headers of [{}, bearer('tly_w_unknown-key-000000000000'), { authorization: 'Token abc' }]) {
      const res = await post(trackEvent(), headers)
      expect(res.statusCode).toBe(401)
      expect(res.json().error.code).toBe('unauthorized')
    }
  })

  it('should answer 403 to a read key', async () => {
    const res = await post(trackEvent(), bearer(KEYS.read))
    expect(res.statusCode).toBe(403)
    expect(res.json().error.code).toBe('forbidden')
  })

  it('should let an admin key ingest', async () => {
    expect((await post(trackEvent(), bearer(KEYS.admin))).statusCode).toBe(200)
  })

  it('should answer CORS preflights for browsers', async () => {
    const res = await t.app.server.inject({
      method: 'OPTIONS',
      url: '/api/v1/events',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    })
    expect(res.statusCode).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBe('https://shop.example')
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization')
  })
})

describe('ingest with TALLY_CORS_ORIGINS set', () => {
  let app: TestApp
  beforeEach(async () => {
    app = await createTestApp({ TALLY_CORS_ORIGINS: 'https://shop.example' })
  })
  afterEach(async () => {
    await app.close()
  })

  // A text/plain beacon needs no preflight, so CORS alone never stopped another site's page from writing.
  it('should refuse a browser request from another origin, on the native and the Segment routes', async () => {
    for (const [url, payload, headers] of [
      ['/api/v1/events', JSON.stringify(trackEvent()), bearer(KEYS.write)],
      [
        '/v1/batch',
        JSON.stringify({ writeKey: KEYS.write, batch: [{ type: 'track', event: 'X', userId: 'u' }] }),
        {},
      ],
    ] as const) {
      const other = await app.app.server.inject({
        method: 'POST',
        url,
        headers: { ...headers, origin: 'https://evil.example', 'content-type': 'text/plain' },
        payload,
      })
      expect(other.statusCode, url).toBe(403)
      expect(other.json().error).toMatchObject({
        code: 'forbidden',
        message: expect.stringContaining('evil.example'),
      })
      const allowed = await app.app.server.inject({
        method: 'POST',
        url,
        headers: { ...headers, origin: 'https://shop.example', 'content-type': 'text/plain' },
        payload,
      })
      expect(allowed.statusCode, url).toBe(200)
      // A server-side SDK sends no Origin.
      const server = await app.app.server.inject({
        method: 'POST',
        url,
        headers: { ...headers, 'content-type': 'application/json' },
        payload,
      })
      expect(server.statusCode, url).toBe(200)
      // A page served by Tally's own origin (browsers send Origin on a same-origin POST too).
      const own = await app.app.server.inject({
        method: 'POST',
        url,
        headers: {
          ...headers,
          host: 'tally.example:8080',
          origin: 'http://tally.example:8080',
          'content-type': 'text/plain',
        },
        payload,
      })
      expect(own.statusCode, url).toBe(200)
    }
  })
})

describe('rejected events sent again', () => {
  let app: TestApp
  beforeEach(async () => {
    app = await createTestApp()
  })
  afterEach(async () => {
    await app.close()
  })

  // A retried batch kept each rejected event again (300 events → 400 failed records in a trial).
  it('should keep a rejected event once per messageId, however often it is sent', async () => {
    const bad = { type: 'track', userId: 'u1', messageId: 'retried-bad-1', properties: {} } // no name
    const noId = { type: 'track', userId: 'u1', properties: {} }
    for (let i = 0; i < 3; i++) {
      const res = await app.app.server.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: bearer(KEYS.write),
        payload: { events: [bad, bad, noId] },
      })
      expect(res.json().rejected).toBe(3)
    }
    const listed = await app.app.server.inject({
      url: '/api/v1/failed-events?limit=100',
      headers: bearer(KEYS.read),
    })
    const failed = listed.json().failedEvents as { payload: { messageId?: string } }[]
    expect(failed.filter((f) => f.payload.messageId === 'retried-bad-1')).toHaveLength(1)
    // Without a messageId there is nothing to tell a retry from a new event: each is kept.
    expect(failed.filter((f) => f.payload.messageId === undefined)).toHaveLength(3)
  })
})

describe('TALLY_CORS_ORIGINS written by hand', () => {
  it('should match the origin a browser sends whatever the case and default port in the list', async () => {
    const app = await createTestApp({ TALLY_CORS_ORIGINS: 'https://Shop.Example:443,http://Local.Test:80' })
    try {
      for (const origin of ['https://shop.example', 'http://local.test']) {
        const res = await app.app.server.inject({
          method: 'POST',
          url: '/api/v1/events',
          headers: { ...bearer(KEYS.write), origin },
          payload: trackEvent(),
        })
        expect(res.statusCode, origin).toBe(200)
        expect(res.headers['access-control-allow-origin']).toBe(origin)
      }
    } finally {
      await app.close()
    }
  })
})
