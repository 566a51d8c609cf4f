import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/config.js'
import { AppError } from '../../src/errors/app-error.js'
import { buildServer } from '../../src/http/build-server.js'
import type { Ingestor } from '../../src/ingest/ingest-types.js'
import { bearer, createTestApp, KEYS, type TestApp, trackEvent } from './http-helpers.js'

let t: TestApp | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

describe('operations routes', () => {
  it('should answer /healthz and /readyz, and 503 with Retry-After when the database is gone', async () => {
    t = await createTestApp()
    const { server, store } = t.app
    expect((await server.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' })
    expect((await server.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready', database: 'sqlite' })
    await store.close()
    const down = await server.inject({ url: '/readyz' })
    expect(down.statusCode).toBe(503)
    expect(down.headers['retry-after']).toBe('5')
    expect(down.json().error.code).toBe('store_unavailable')
  })

  it('should expose Prometheus metrics: events by outcome, issues by code, latency, queue depth', async () => {
    t = await createTestApp()
    const { server } = t.app
    await server.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: bearer(KEYS.write),
      payload: { events: [trackEvent(), { type: 'track', userId: 'u' }] },
    })
    const res = await server.inject({ url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/plain')
    expect(res.body).toContain('tally_events_total{status="accepted"} 1')
    expect(res.body).toContain('tally_events_total{status="rejected"} 1')
    expect(res.body).toMatch(/tally_event_issues_total\{code="required"\} 1/)
    expect(res.body).toMatch(
      /tally_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/events",status_code="200"\} 1/,
    )
    expect(res.body).toContain('tally_ingest_queue_depth 0')
  })

  it('should serve an OpenAPI 3.1 document covering the routes, and the docs UI', async () => {
    t = await createTestApp()
    const doc = (await t.app.server.inject({ url: '/openapi.json' })).json()
    expect(doc.openapi).toBe('3.1.0')
    for (const path of [
      '/api/v1/events',
      '/api/v1/events/{id}',
      '/v1/batch',
      '/api/v1/stats/overview',
      '/healthz',
    ]) {
      expect(Object.keys(doc.paths), path).toContain(path)
    }
    expect(doc.paths['/api/v1/events'].post.responses['200']).toBeDefined()
    // What a client really gets is documented (a contract trial found these missing or wrong):
    const statuses = (path: string, method: string) => Object.keys(doc.paths[path][method].responses)
    expect(statuses('/api/v1/events/{id}', 'get')).toContain('400')
    expect(statuses('/api/v1/events/query', 'post')).toEqual(expect.arrayContaining(['400', '413', '415']))
    expect(statuses('/readyz', 'get')).toContain('503')
    expect(statuses('/v1/batch', 'post')).toContain('400')
    expect(statuses('/v1/batch', 'post')).not.toContain('413') // Segment's 400 instead
    expect(Object.keys(doc.paths['/api/v1/events/export'].get.responses['200'].content)).toEqual([
      'application/x-ndjson',
      'text/csv',
    ])
    const ui = await t.app.server.inject({ url: '/docs/' })
    expect(ui.statusCode).toBe(200)
    expect(ui.headers['content-type']).toContain('text/html')
  })

  it('should answer 429 with Retry-After once a key passes its rate limit', async () => {
    t = await createTestApp({ TALLY_RATE_LIMIT_MAX: '2', TALLY_RATE_LIMIT_WINDOW_MS: '60000' })
    const send = () =>
      t!.app.server.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: bearer(KEYS.write),
        payload: trackEvent(),
      })
    expect((await send()).statusCode).toBe(200)
    expect((await send()).statusCode).toBe(200)
    const limited = await send()
    expect(limited.statusCode).toBe(429)
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    expect(limited.json().error.code).toBe('rate_limited')
    // Another key has its own budget.
    const other = await t.app.server.inject({ url: '/api/v1/events', headers: bearer(KEYS.read) })
    expect(other.statusCode).toBe(200)
  })

  it('should count requests validation refuses (a client retrying a bad request), per key, Segment body keys too', async () => {
    t = await createTestApp({ TALLY_RATE_LIMIT_MAX: '3', TALLY_RATE_LIMIT_WINDOW_MS: '60000' })
    const bad = () => t!.app.server.inject({ url: '/api/v1/events?limit=0', headers: bearer(KEYS.read) })
    const codes = []
    for (let i = 0; i < 5; i++) codes.push((await bad()).statusCode)
    expect(codes).toEqual([400, 400, 400, 429, 429])
    const segment = () =>
      t!.app.server.inject({
        method: 'POST',
        url: '/v1/track',
        payload: { writeKey: KEYS.write, userId: 'u', event: 'E' },
      })
    const segmentCodes = []
    for (let i = 0; i < 4; i++) segmentCodes.push((await segment()).statusCode)
    expect(segmentCodes).toEqual([200, 200, 200, 429])
  })

  it('should answer statistics scoped to the project', async () => {
    t = await createTestApp()
    const { server } = t.app
    await server.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: bearer(KEYS.write),
      payload: { events: [trackEvent(), trackEvent()] },
    })
    await server.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: bearer(t.otherKeys.write),
      payload: trackEvent(),
    })
    const from = new Date(Date.now() - 3_600_000).toISOString()
    const to = new Date(Date.now() + 3_600_000).toISOString()
    const overview = await server.inject({
      url: `/api/v1/stats/overview?from=${from}&to=${to}`,
      headers: bearer(KEYS.read),
    })
    expect(overview.statusCode).toBe(200)
    expect(overview.json().total).toBe(2)
    const series = await server.inject({
      url: `/api/v1/stats/timeseries?from=${from}&to=${to}&unit=hour`,
      headers: bearer(KEYS.read),
    })
    expect(series.statusCode).toBe(200)
    // Without `unit` a series is by day, as `tally stats timeseries` (it was a 400 over HTTP only).
    const byDay = await server.inject({ url: '/api/v1/stats/timeseries', headers: bearer(KEYS.read) })
    expect(byDay.statusCode).toBe(200)
    expect(byDay.json().unit).toBe('day')
    for (const path of ['performance', 'api-requests', 'interactions']) {
      const res = await server.inject({
        url: `/api/v1/stats/${path}?from=${from}&to=${to}`,
        headers: bearer(KEYS.read),
      })
      expect(res.statusCode, path).toBe(200)
    }
    const project = await server.inject({ url: '/api/v1/project', headers: bearer(t.otherKeys.read) })
    expect(project.json()).toMatchObject({ id: 'other', settings: { enforcement: 'allow' } })
    // Without a range a statistic covers the last 7 days up to now.
    const defaulted = await server.inject({ url: '/api/v1/stats/overview', headers: bearer(KEYS.read) })
    expect(defaulted.statusCode).toBe(200)
    const span = Date.parse(defaulted.json().to) - Date.parse(defaulted.json().from)
    expect(span).toBe(7 * 86_400_000)
    const reversed = await server.inject({
      url: `/api/v1/stats/overview?from=${to}&to=${from}`,
      headers: bearer(KEYS.read),
    })
    expect(reversed.statusCode).toBe(400)
    expect(reversed.json().error.code).toBe('validation_failed')
    const writeKey = await server.inject({
      url: `/api/v1/stats/overview?from=${from}&to=${to}`,
      headers: bearer(KEYS.write),
    })
    expect(writeKey.statusCode).toBe(403)
  })
})

describe('unknown routes', () => {
  it('should answer 405 with Allow for a path that exists under another method, 404 for an unknown path', async () => {
    t = await createTestApp()
    const { server } = t.app
    const wrongMethod = await server.inject({ method: 'GET', url: '/api/v1/processing/claim?limit=5' })
    expect(wrongMethod.statusCode).toBe(405)
    expect(wrongMethod.headers.allow).toBe('POST')
    expect(wrongMethod.json().error).toMatchObject({ code: 'method_not_allowed' })
    expect(wrongMethod.json().error.message).toContain('GET is not allowed on /api/v1/processing/claim')

    // A parameterised path answers with the methods an event takes; a path a route names exactly with that
    // route's methods — GET /events/query was read by `/events/:id` as the event "query" (404).
    const cases: [method: 'PUT' | 'GET' | 'DELETE' | 'POST', url: string, allow: string][] = [
      ['PUT', '/api/v1/events/abc', 'DELETE, GET, HEAD, PATCH'],
      ['GET', '/api/v1/events/query', 'POST'],
      ['DELETE', '/api/v1/events/export', 'GET, HEAD'],
      ['POST', '/api/v1/events/export', 'GET, HEAD'],
    ]
    for (const [method, url, allow] of cases) {
      const res = await server.inject({ method, url, headers: bearer(KEYS.admin) })
      expect(res.statusCode, `${method} ${url}`).toBe(405)
      expect(res.headers.allow).toBe(allow)
      expect(res.json().error.code).toBe('method_not_allowed')
    }
    // A real id still reaches its route.
    const unknownId = await server.inject({
      url: '/api/v1/events/0193aaaa-0000-7000-8000-000000000000',
      headers: bearer(KEYS.read),
    })
    expect(unknownId.statusCode).toBe(404)

    const trailingSlash = await server.inject({ method: 'DELETE', url: '/api/v1/schemas/' })
    expect(trailingSlash.statusCode).toBe(405)
    expect(trailingSlash.headers.allow).toContain('GET')

    // The dashboard's catch-all GET does not make every unknown path a 405.
    const unknown = await server.inject({ method: 'POST', url: '/api/v1/nothing-here' })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.headers.allow).toBeUndefined()
    expect(unknown.json().error.code).toBe('not_found')
  })
})

describe('long path parameters', () => {
  // The router refused path segments over 512 characters before any route ran: a schema name of 200 CJK
  // characters (within the name limit) is 1,800 characters percent-encoded and could not be registered, and
  // a long id answered 400 validation_failed without `details`, before auth.
  it('should take a 200-character name in any script, and check long ids after auth with details', async () => {
    t = await createTestApp()
    const { server } = t.app
    const name = '注'.repeat(200)
    const put = await server.inject({
      method: 'PUT',
      url: `/api/v1/schemas/track/${encodeURIComponent(name)}/1-0-0`,
      headers: bearer(KEYS.admin),
      payload: { type: 'object' },
    })
    expect(put.statusCode, put.body).toBe(201)
    const listed = await server.inject({ url: '/api/v1/schemas', headers: bearer(KEYS.read) })
    expect(listed.body).toContain(name)

    const longId = 'a'.repeat(5000)
    const noKey = await server.inject({
      method: 'PATCH',
      url: `/api/v1/events/${longId}`,
      payload: { status: 'failed' },
    })
    expect(noKey.statusCode).toBe(401)
    const patch = await server.inject({
      method: 'PATCH',
      url: `/api/v1/events/${longId}`,
      headers: bearer(KEYS.admin),
      payload: { status: 'failed' },
    })
    const get = await server.inject({ url: `/api/v1/events/${longId}`, headers: bearer(KEYS.read) })
    for (const res of [patch, get]) {
      expect(res.statusCode).toBe(400)
      expect(res.json().error.code).toBe('validation_failed')
      expect(res.json().error.details[0]).toMatchObject({ in: 'params', path: '/id', keyword: 'maxLength' })
    }

    // Beyond any URL a client sends (8 KB): still the documented body, never a bare router error.
    const huge = await server.inject({
      url: `/api/v1/events/${'a'.repeat(9000)}`,
      headers: bearer(KEYS.read),
    })
    expect(huge.statusCode).toBe(404)
    expect(huge.json().error.code).toBe('not_found')
    expect(huge.json().error.message.length).toBeLessThan(300) // the path named, not echoed whole
  })
})

describe('request metadata', () => {
  it('should echo X-Request-Id and resolve the client IP only through trusted proxies', async () => {
    t = await createTestApp({ TALLY_TRUST_PROXY: '127.0.0.1' })
    const send = (ip: string) =>
      t!.app.server.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: { ...bearer(KEYS.write), 'x-forwarded-for': ip, 'x-request-id': 'req-123' },
        payload: trackEvent({ properties: { ip } }),
      })
    const res = await send('203.0.113.77')
    expect(res.headers['x-request-id']).toBe('req-123')
    const id = res.json().results[0].id
    const event = (
      await t.app.server.inject({ url: `/api/v1/events/${id}`, headers: bearer(KEYS.read) })
    ).json()
    // Anonymised to /24 by default, and taken from X-Forwarded-For because 127.0.0.1 (inject) is trusted.
    expect(event.context.ip).toBe('203.0.113.0')
  })

  it('should ignore X-Forwarded-For without trusted proxies', async () => {
    t = await createTestApp()
    const res = await t.app.server.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: { ...bearer(KEYS.write), 'x-forwarded-for': '203.0.113.77' },
      payload: trackEvent(),
    })
    const event = (
      await t.app.server.inject({
        url: `/api/v1/events/${res.json().results[0].id}`,
        headers: bearer(KEYS.read),
      })
    ).json()
    expect(event.context.ip).not.toBe('203.0.113.0')
  })
})

describe('buildServer error mapping', () => {
  it('should turn an overloaded or unavailable ingestor into 503 with Retry-After', async () => {
    t = await createTestApp()
    for (const code of ['overloaded', 'store_unavailable'] as const) {
      const ingestor: Ingestor = {
        ingest: async () => {
          throw new AppError(code, undefined, { retryAfterSeconds: 3 })
        },
      }
      const server = await buildServer({
        config: loadConfig({ TALLY_LOG_LEVEL: 'silent' }),
        store: t.app.store,
        ingestor,
      })
      const res = await server.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: bearer(KEYS.write),
        payload: trackEvent(),
      })
      expect(res.statusCode).toBe(503)
      expect(res.headers['retry-after']).toBe('3')
      expect(res.json().error).toMatchObject({ code, statusCode: 503 })
      const segment = await server.inject({
        method: 'POST',
        url: '/v1/track',
        payload: { writeKey: KEYS.write, userId: 'u', event: 'x' },
      })
      expect(segment.statusCode).toBe(503)
      await server.close()
    }
  })

  it('should hide internal errors behind a 500 internal body', async () => {
    t = await createTestApp()
    let failure: Error = new TypeError('secret detail')
    const ingestor: Ingestor = {
      ingest: async () => {
        throw failure
      },
    }
    const server = await buildServer({
      config: loadConfig({ TALLY_LOG_LEVEL: 'silent' }),
      store: t.app.store,
      ingestor,
    })
    const res = await server.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: bearer(KEYS.write),
      payload: trackEvent(),
    })
    expect(res.statusCode).toBe(500)
    expect(res.json()).toEqual({
      error: {
        code: 'internal',
        message: `Internal error; request id ${res.headers['x-request-id']}`,
        statusCode: 500,
      },
    })
    // A storage failure's message names the database: logged, not answered (a user's trial saw it leak).
    failure = new AppError('internal', 'Storage error: database "tally_prod" does not exist')
    const leaked = await server.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: bearer(KEYS.write),
      payload: trackEvent(),
    })
    expect(leaked.statusCode).toBe(500)
    expect(leaked.body).not.toContain('tally_prod')
    await server.close()
  })
})
