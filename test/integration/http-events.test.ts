import { gzipSync } from 'node:zlib'
import type { InjectOptions } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bearer, createTestApp, KEYS, type TestApp, trackEvent } from './http-helpers.js'

let t: TestApp
beforeEach(async () => {
  t = await createTestApp()
})
afterEach(async () => {
  await t.close()
})

const call = (opts: InjectOptions) => t.app.server.inject(opts)
/** POST /api/v1/failed-events/replay of everything, as the admin. */
const replayFailed = () =>
  call({ method: 'POST', url: '/api/v1/failed-events/replay', headers: bearer(KEYS.admin), payload: {} })

async function ingest(events: unknown[], key: string = KEYS.write): Promise<string[]> {
  const res = await call({ method: 'POST', url: '/api/v1/events', headers: bearer(key), payload: { events } })
  expect(res.statusCode).toBe(200)
  return res.json().results.map((r: { id: string }) => r.id)
}

describe('reading events', () => {
  it('should filter by the query string (lists, comma lists, where as JSON) and paginate', async () => {
    await ingest([
      trackEvent({ name: 'A', properties: { n: 1 } }),
      trackEvent({ name: 'B', properties: { n: 5 } }),
      { type: 'page', anonymousId: 'x', name: 'Home' },
      trackEvent({ name: 'A', properties: { n: 9 } }),
    ])
    const h = bearer(KEYS.read)
    const byType = await call({ url: '/api/v1/events?types=track,page', headers: h })
    expect(byType.json().events).toHaveLength(4)
    const byName = await call({ url: '/api/v1/events?names=A&names=B&types=track', headers: h })
    expect(byName.json().events).toHaveLength(3)
    const where = encodeURIComponent(JSON.stringify([{ path: 'properties.n', op: 'gte', value: 5 }]))
    const filtered = await call({ url: `/api/v1/events?where=${where}`, headers: h })
    expect(
      filtered
        .json()
        .events.map((e: { name: string }) => e.name)
        .sort(),
    ).toEqual(['A', 'B'])

    const page1 = (await call({ url: '/api/v1/events?limit=3', headers: h })).json()
    expect(page1.events).toHaveLength(3)
    expect(page1.nextCursor).toEqual(expect.any(String))
    const page2 = (
      await call({ url: `/api/v1/events?limit=3&cursor=${encodeURIComponent(page1.nextCursor)}`, headers: h })
    ).json()
    expect(page2.events).toHaveLength(1)
    expect(page2.nextCursor).toBeNull()
  })

  it('should query with a JSON EventQuery', async () => {
    await ingest([trackEvent({ userId: 'alice' }), trackEvent({ userId: 'bob' })])
    const res = await call({
      method: 'POST',
      url: '/api/v1/events/query',
      headers: bearer(KEYS.read),
      payload: { userId: 'bob' },
    })
    expect(res.json().events.map((e: { userId: string }) => e.userId)).toEqual(['bob'])
  })

  it('should take times to the minute with a zone offset in queries and statistics', async () => {
    // `2026-11-01T10:30+01:00` (docs/cli.md) was 400 "must match format date-time": RFC 3339 wants seconds.
    await ingest([trackEvent({ userId: 'minute' })])
    const from = encodeURIComponent(
      `${new Date(Date.now() + 3_600_000 - 600_000).toISOString().slice(0, 16)}+01:00`,
    )
    const list = await call({ url: `/api/v1/events?from=${from}`, headers: bearer(KEYS.read) })
    expect(list.statusCode, list.body).toBe(200)
    expect(list.json().events.map((e: { userId: string }) => e.userId)).toEqual(['minute'])
    const stats = await call({ url: `/api/v1/stats/overview?from=${from}`, headers: bearer(KEYS.read) })
    expect(stats.statusCode, stats.body).toBe(200)
    expect(stats.json().total).toBe(1)
    const bad = await call({ url: '/api/v1/events?from=2026-11-01T10:30', headers: bearer(KEYS.read) })
    expect(bad.statusCode).toBe(400) // a time without its zone names no instant
  })

  it('should compare JSON where values with their JSON types (numbers, booleans, null), as the query string does', async () => {
    // Regression: request bodies were validated with type coercion, which turned `40` into "40" (the value
    // schema allows a string first), so every numeric, boolean and null comparison matched nothing.
    await ingest([
      trackEvent({ name: 'A', properties: { total: 42, paid: true, coupon: null, n: 7 } }),
      trackEvent({ name: 'B', properties: { total: 10, paid: false, coupon: 'X', n: 8 } }),
      trackEvent({ name: 'C', properties: { total: '42', paid: 'true', n: '7' } }),
    ])
    const names = async (where: unknown[]) => {
      const res = await call({
        method: 'POST',
        url: '/api/v1/events/query',
        headers: bearer(KEYS.read),
        payload: { where },
      })
      expect(res.statusCode).toBe(200)
      return res
        .json()
        .events.map((e: { name: string }) => e.name)
        .sort()
    }
    expect(await names([{ path: 'properties.total', op: 'gte', value: 40 }])).toEqual(['A'])
    expect(await names([{ path: 'properties.total', op: 'eq', value: 42 }])).toEqual(['A'])
    expect(await names([{ path: 'properties.total', op: 'eq', value: '42' }])).toEqual(['C'])
    expect(await names([{ path: 'properties.paid', op: 'eq', value: true }])).toEqual(['A'])
    expect(await names([{ path: 'properties.coupon', op: 'eq', value: null }])).toEqual(['A'])
    expect(await names([{ path: 'properties.n', op: 'in', value: [7, 8] }])).toEqual(['A', 'B'])
    expect(await names([{ path: 'properties.n', op: 'ne', value: 7 }])).toEqual(['B', 'C'])
  })

  it.each([
    ['/api/v1/events?limit=0', 'validation_failed'],
    ['/api/v1/events?types=nope', 'validation_failed'],
    ['/api/v1/events?unknown=1', 'validation_failed'],
    ['/api/v1/events?where=[', 'validation_failed'],
    [
      `/api/v1/events?where=${encodeURIComponent('[{"path":"x;drop","op":"eq","value":1}]')}`,
      'validation_failed',
    ],
    ['/api/v1/events?cursor=garbage', 'invalid_cursor'],
    ['/api/v1/events/export?limit=5', 'validation_failed'], // was accepted and ignored
  ])('should answer 400 with a stable code for %s', async (url, code) => {
    const res = await call({ url, headers: bearer(KEYS.read) })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe(code)
  })

  it('should name the allowed values when a value is not one of them', async () => {
    const res = await call({ url: '/api/v1/events?types=nope', headers: bearer(KEYS.read) })
    expect(res.json().error.message).toBe(
      'querystring /types/0 must be one of: track, page, screen, identify, group, alias, performance, interaction, api_request',
    )
    expect(res.json().error.details).toHaveLength(1) // one error, not one per allowed literal
  })

  it('should refuse a failed-event code that does not exist instead of listing nothing', async () => {
    const res = await call({ url: '/api/v1/failed-events?code=nonsense', headers: bearer(KEYS.read) })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.message).toMatch(/^querystring \/code must be one of: .*schema_violation/)
    const known = await call({ url: '/api/v1/failed-events?code=required', headers: bearer(KEYS.read) })
    expect(known.statusCode).toBe(200)
  })

  it('should say why a JSON body with a __proto__ or constructor.prototype key is refused (it said "not valid JSON")', async () => {
    for (const payload of ['{"limit":1,"__proto__":{}}', '{"limit":1,"constructor":{"prototype":{}}}']) {
      const res = await call({
        method: 'POST',
        url: '/api/v1/events/query',
        headers: { ...bearer(KEYS.read), 'content-type': 'application/json' },
        payload,
      })
      expect(res.statusCode).toBe(400)
      expect(res.json().error).toMatchObject({
        code: 'invalid_body',
        message: expect.stringMatching(/__proto__/),
      })
    }
  })

  it('should refuse a schema body nested too deep (it was a 500) or holding 1e400 (stored as null)', async () => {
    const deep = `{"properties":{"a":{"default":${'['.repeat(3000)}${']'.repeat(3000)}}}}`
    const huge = '{"type":"object","properties":{"n":{"const":1e400}}}'
    for (const [payload, message] of [
      [deep, /deeper than 256 levels/],
      [huge, /too large to represent/],
    ] as const) {
      const res = await call({
        method: 'PUT',
        url: '/api/v1/schemas/track/Deep/1-0-0',
        headers: { ...bearer(KEYS.admin), 'content-type': 'application/json' },
        payload,
      })
      expect(res.statusCode).toBe(400)
      expect(res.json().error).toMatchObject({
        code: 'invalid_body',
        message: expect.stringMatching(message),
      })
    }
  })

  it('should give validation_failed details one shape: an array of { path, keyword, message } (in: where Fastify says)', async () => {
    const where = encodeURIComponent(JSON.stringify([{ path: 'properties.x', op: 'gt', value: null }]))
    const answers = await Promise.all([
      call({ url: `/api/v1/events?where=${where}`, headers: bearer(KEYS.read) }),
      call({
        url: '/api/v1/stats/overview?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z',
        headers: bearer(KEYS.read),
      }),
      call({
        url: '/api/v1/events?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z',
        headers: bearer(KEYS.read),
      }),
      call({ url: '/api/v1/events?userId=a%00b', headers: bearer(KEYS.read) }),
      call({ url: '/api/v1/events?limit=5000', headers: bearer(KEYS.read) }),
    ])
    for (const res of answers) {
      expect(res.statusCode).toBe(400)
      const { details } = res.json().error
      expect(Array.isArray(details), JSON.stringify(details)).toBe(true)
      for (const d of details) {
        expect(d).toMatchObject({
          path: expect.any(String),
          keyword: expect.any(String),
          message: expect.any(String),
        })
        if ('in' in d) expect(['querystring', 'params', 'body']).toContain(d.in)
      }
    }
    expect(answers[3].json().error.details[0].in).toBe('querystring')
  })

  it('should refuse, with 415, bodies the other routes cannot read: another charset, compressed, text/plain', async () => {
    // They were read anyway: latin-1 as UTF-8 (200), gzip as broken JSON (invalid_json), text as a string.
    const query = (headers: Record<string, string>, payload: string | Buffer = '{}') =>
      call({
        method: 'POST',
        url: '/api/v1/events/query',
        headers: { ...bearer(KEYS.read), ...headers },
        payload,
      })
    const latin1 = await query({ 'content-type': 'application/json; charset=iso-8859-1' })
    const gzipped = await query(
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      gzipSync('{}'),
    )
    const text = await query({ 'content-type': 'text/plain' })
    for (const res of [latin1, gzipped, text]) {
      expect(res.statusCode).toBe(415)
      expect(res.json().error.code).toBe('unsupported_media_type')
    }
    expect((await query({ 'content-type': 'application/json; charset=utf-8' })).statusCode).toBe(200)
  })

  it('should give details as an array even for checks deep in the pipeline (tracking plan names)', async () => {
    const res = await call({
      method: 'PUT',
      url: '/api/v1/schemas/identify/Foo/1-0-0',
      headers: bearer(KEYS.admin),
      payload: {},
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.details).toEqual([
      expect.objectContaining({ path: '', keyword: 'request', message: expect.any(String) }),
    ])
  })

  it('should refuse two Authorization headers whatever their order (Node kept the first)', async () => {
    for (const pair of [
      [`Bearer ${KEYS.read}`, 'Bearer wrong'],
      ['Bearer wrong', `Bearer ${KEYS.read}`],
    ]) {
      const res = await call({ url: '/api/v1/events', headers: { authorization: pair as never } })
      expect(res.statusCode).toBe(401)
      expect(res.json().error.message).toBe('Send one Authorization header, not several')
    }
  })

  it('should call a missing body invalid_body, as an empty JSON body is', async () => {
    const none = await call({ method: 'POST', url: '/api/v1/events/query', headers: bearer(KEYS.read) })
    expect(none.statusCode).toBe(400)
    expect(none.json().error).toMatchObject({ code: 'invalid_body', message: 'The request body is empty' })
    const empty = await call({
      method: 'POST',
      url: '/api/v1/events/query',
      headers: { ...bearer(KEYS.read), 'content-type': 'application/json' },
      payload: '',
    })
    expect(empty.json().error.code).toBe('invalid_body')
    // Every route with a body says so (replay's filter is `{}` at the least, as the README sends).
    const replay = await call({
      method: 'POST',
      url: '/api/v1/failed-events/replay',
      headers: bearer(KEYS.admin),
    })
    expect(replay.json().error.code).toBe('invalid_body')
  })

  it('should say a scalar query key was given twice (it said "must be integer")', async () => {
    const res = await call({ url: '/api/v1/events?limit=1&limit=2', headers: bearer(KEYS.read) })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.message).toBe('querystring /limit is given 2 times; give it once')
    const lists = await call({ url: '/api/v1/events?types=track&types=page', headers: bearer(KEYS.read) })
    expect(lists.statusCode).toBe(200) // list keys are meant to repeat
  })

  it('should refuse an unknown field in a JSON query with validation details', async () => {
    const res = await call({
      method: 'POST',
      url: '/api/v1/events/query',
      headers: bearer(KEYS.read),
      payload: { nope: 1 },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toMatchObject({
      code: 'validation_failed',
      details: [expect.objectContaining({ in: 'body' })],
    })
  })

  it('should answer 404 for an unknown event id and an unknown route', async () => {
    const event = await call({
      url: '/api/v1/events/01890000-0000-7000-8000-000000000000',
      headers: bearer(KEYS.read),
    })
    expect(event.statusCode).toBe(404)
    expect(event.json().error.code).toBe('not_found')
    const route = await call({ url: '/api/v1/nothing' })
    expect(route.statusCode).toBe(404)
    expect(route.json().error).toMatchObject({ code: 'not_found', statusCode: 404 })
  })

  it('should export NDJSON and CSV', async () => {
    await ingest([
      trackEvent({ name: '=cmd()' }),
      trackEvent({ name: 'B, "quoted"' }),
      trackEvent({ name: 'a;=HYPERLINK(1)' }),
    ])
    const nd = await call({ url: '/api/v1/events/export?format=ndjson', headers: bearer(KEYS.read) })
    expect(nd.statusCode).toBe(200)
    expect(nd.headers['content-type']).toContain('application/x-ndjson')
    const lines = nd.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toHaveLength(3)
    const csv = await call({
      url: '/api/v1/events/export?format=csv&types=track',
      headers: bearer(KEYS.read),
    })
    expect(csv.headers['content-type']).toContain('text/csv')
    const rows = csv.body.trim().split('\r\n')
    expect(rows[0]).toMatch(/^id,type,name,/)
    expect(rows).toHaveLength(4)
    expect(csv.body).toContain(`'=cmd()`)
    expect(csv.body).toContain('"B, ""quoted"""')
    // Quoted: a spreadsheet splitting on `;` keeps it one cell instead of running `=HYPERLINK(1)`.
    expect(csv.body).toContain(',"a;=HYPERLINK(1)",')
  })
})

describe('roles and projects', () => {
  it('should not let a write key read, nor a read key change or delete', async () => {
    const [id] = await ingest([trackEvent()])
    const writeRead = await call({ url: '/api/v1/events', headers: bearer(KEYS.write) })
    expect(writeRead.statusCode).toBe(403)
    for (const req of [
      { method: 'DELETE' as const, url: `/api/v1/events/${id}` },
      { method: 'PATCH' as const, url: `/api/v1/events/${id}`, payload: { status: 'processed' } },
      { method: 'POST' as const, url: '/api/v1/events/delete', payload: { userId: 'user-1' } },
      {
        method: 'POST' as const,
        url: '/api/v1/events/status',
        payload: { ids: [id], update: { status: 'processed' } },
      },
      { method: 'POST' as const, url: '/api/v1/processing/claim', payload: { consumer: 'c' } },
      { method: 'POST' as const, url: '/api/v1/failed-events/replay', payload: {} },
      { method: 'PUT' as const, url: '/api/v1/schemas/track/X/1-0-0', payload: { type: 'object' } },
      { method: 'PATCH' as const, url: '/api/v1/project/settings', payload: { enforcement: 'block' } },
      { method: 'GET' as const, url: '/api/v1/keys' },
    ]) {
      const res = await call({ ...req, headers: bearer(KEYS.read) })
      expect(res.statusCode, `${req.method} ${req.url}`).toBe(403)
      expect(res.json().error.code).toBe('forbidden')
    }
    const keys = await call({ url: '/api/v1/keys', headers: bearer(KEYS.read) })
    expect(keys.json().error.message).toBe('A read key may not do this; it needs an admin key') // was "a admin"
    expect((await call({ url: `/api/v1/events/${id}`, headers: bearer(KEYS.read) })).statusCode).toBe(200)
  })

  it('should keep project A and project B apart', async () => {
    const [idA] = await ingest([trackEvent({ name: 'A only' })])
    const [idB] = await ingest([trackEvent({ name: 'B only' })], t.otherKeys.write)
    const listB = await call({ url: '/api/v1/events', headers: bearer(t.otherKeys.read) })
    expect(listB.json().events.map((e: { name: string }) => e.name)).toEqual(['B only'])
    expect((await call({ url: `/api/v1/events/${idA}`, headers: bearer(t.otherKeys.read) })).statusCode).toBe(
      404,
    )
    expect(
      (await call({ method: 'DELETE', url: `/api/v1/events/${idA}`, headers: bearer(t.otherKeys.admin) }))
        .statusCode,
    ).toBe(404)
    const erase = await call({
      method: 'POST',
      url: '/api/v1/events/delete',
      headers: bearer(t.otherKeys.admin),
      payload: { userId: 'user-1' },
    })
    expect(erase.json().events).toBe(1)
    expect((await call({ url: `/api/v1/events/${idA}`, headers: bearer(KEYS.read) })).statusCode).toBe(200)
    expect((await call({ url: `/api/v1/events/${idB}`, headers: bearer(t.otherKeys.read) })).statusCode).toBe(
      404,
    )
  })
})

describe('changing events', () => {
  it('should update, batch-update, delete and GDPR-erase', async () => {
    const [a, b, c] = await ingest([
      trackEvent({ userId: 'x' }),
      trackEvent({ userId: 'x' }),
      trackEvent({ userId: 'keep' }),
    ])
    const h = bearer(KEYS.admin)
    const patched = await call({
      method: 'PATCH',
      url: `/api/v1/events/${a}`,
      headers: h,
      payload: { status: 'failed', error: 'boom', tags: ['t'] },
    })
    expect(patched.statusCode).toBe(200)
    expect(patched.json()).toMatchObject({ status: 'failed', error: 'boom', tags: ['t'] })
    const badPatch = await call({
      method: 'PATCH',
      url: `/api/v1/events/${a}`,
      headers: h,
      payload: { name: 'changed' },
    })
    expect(badPatch.statusCode).toBe(400)
    const many = await call({
      method: 'POST',
      url: '/api/v1/events/status',
      headers: h,
      payload: { ids: [a, b], update: { status: 'processed' } },
    })
    expect(many.json()).toEqual({ updated: 2 })
    // With the Content-Type many clients send on every request and no body (a trial: 400 invalid_body).
    const json = { ...h, 'content-type': 'application/json' }
    expect((await call({ method: 'DELETE', url: `/api/v1/events/${c}`, headers: json })).statusCode).toBe(204)
    expect((await call({ method: 'DELETE', url: `/api/v1/events/${c}`, headers: h })).statusCode).toBe(404)
    const erase = await call({
      method: 'POST',
      url: '/api/v1/events/delete',
      headers: h,
      payload: { userId: 'x' },
    })
    expect(erase.json()).toMatchObject({ events: 2 })
    const emptyFilter = await call({ method: 'POST', url: '/api/v1/events/delete', headers: h, payload: {} })
    expect(emptyFilter.statusCode).toBe(400)
  })

  it('should claim and ack events for a consumer', async () => {
    await ingest([trackEvent(), trackEvent()])
    const h = bearer(KEYS.admin)
    const claimed = (
      await call({
        method: 'POST',
        url: '/api/v1/processing/claim',
        headers: h,
        payload: { consumer: 'w1', limit: 10 },
      })
    ).json()
    expect(claimed.events).toHaveLength(2)
    expect(claimed.events.every((e: { status: string }) => e.status === 'processing')).toBe(true)
    const again = (
      await call({ method: 'POST', url: '/api/v1/processing/claim', headers: h, payload: { consumer: 'w2' } })
    ).json()
    expect(again.events).toHaveLength(0)
    const ids = claimed.events.map((e: { id: string }) => e.id)
    const ack = await call({
      method: 'POST',
      url: '/api/v1/processing/ack',
      headers: h,
      payload: { consumer: 'w1', ids, status: 'processed' },
    })
    expect(ack.json()).toEqual({ updated: 2 })
  })

  it('should refuse an empty types list on claim, and a reversed range on failed events and the audit log', async () => {
    // `types: []` claimed every type; reversed ranges answered 200 with nothing where /events says 400.
    const h = bearer(KEYS.admin)
    const empty = await call({
      method: 'POST',
      url: '/api/v1/processing/claim',
      headers: h,
      payload: { consumer: 'w', types: [] },
    })
    expect([empty.statusCode, empty.json().error.code]).toEqual([400, 'validation_failed'])
    const range = 'from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z'
    for (const url of [
      `/api/v1/failed-events?${range}`,
      `/api/v1/audit?${range}`,
      `/api/v1/events?${range}`,
    ]) {
      const res = await call({ url, headers: h })
      expect([res.statusCode, res.json().error?.message], url).toEqual([400, 'to must be after from'])
    }
    const replay = await call({
      method: 'POST',
      url: '/api/v1/failed-events/replay',
      headers: h,
      payload: { from: '2026-11-02T00:00:00Z', to: '2026-11-01T00:00:00Z' },
    })
    expect(replay.statusCode).toBe(400)
  })

  it('should take the same consumer names on claim as on ack (claim stopped at 128 characters, ack at 200)', async () => {
    await ingest([trackEvent()])
    const h = bearer(KEYS.admin)
    const consumer = `pipeline-${'x'.repeat(180)}`
    const claimed = await call({
      method: 'POST',
      url: '/api/v1/processing/claim',
      headers: h,
      payload: { consumer },
    })
    expect(claimed.statusCode).toBe(200)
    const ids = claimed.json().events.map((e: { id: string }) => e.id)
    const ack = await call({
      method: 'POST',
      url: '/api/v1/processing/ack',
      headers: h,
      payload: { consumer, ids, status: 'processed' },
    })
    expect(ack.json()).toEqual({ updated: 1 })
  })
})

describe('tracking plan, failed events, replay', () => {
  it('should register a schema, block violating events and replay them after a fix', async () => {
    const h = bearer(KEYS.admin)
    const schema = { type: 'object', required: ['plan'], properties: { plan: { enum: ['free', 'pro'] } } }
    const put = await call({
      method: 'PUT',
      url: '/api/v1/schemas/track/Signed Up/1-0-0',
      headers: h,
      payload: schema,
    })
    expect(put.statusCode).toBe(201)
    const dup = await call({
      method: 'PUT',
      url: '/api/v1/schemas/track/Signed Up/1-0-0',
      headers: h,
      payload: schema,
    })
    expect(dup.statusCode).toBe(409)
    expect(dup.json().error.code).toBe('schema_version_exists')
    const badVersion = await call({
      method: 'PUT',
      url: '/api/v1/schemas/track/Signed Up/v2',
      headers: h,
      payload: schema,
    })
    expect(badVersion.json().error.code).toBe('schema_version_invalid')
    const badSchema = await call({
      method: 'PUT',
      url: '/api/v1/schemas/track/Other/1-0-0',
      headers: h,
      payload: { type: 'nope' },
    })
    expect(badSchema.statusCode).toBe(400)
    expect(badSchema.json().error.code).toBe('schema_invalid')
    const list = await call({ url: '/api/v1/schemas', headers: bearer(KEYS.read) })
    expect(list.json().schemas).toEqual([
      expect.objectContaining({ eventName: 'Signed Up', version: '1-0-0' }),
    ])

    const mode = await call({
      method: 'PATCH',
      url: '/api/v1/project/settings',
      headers: h,
      payload: { enforcement: 'block' },
    })
    expect(mode.json().settings.enforcement).toBe('block')
    const result = (
      await call({
        method: 'POST',
        url: '/api/v1/events',
        headers: bearer(KEYS.write),
        payload: trackEvent({ name: 'Signed Up', properties: { plan: 'enterprise' } }),
      })
    ).json()
    expect(result).toMatchObject({ accepted: 0, rejected: 1 })
    const failed = (await call({ url: '/api/v1/failed-events', headers: bearer(KEYS.read) })).json()
    expect(failed.failedEvents).toHaveLength(1)

    const fix = { ...schema, properties: { plan: { enum: ['free', 'pro', 'enterprise'] } } }
    expect(
      (await call({ method: 'PUT', url: '/api/v1/schemas/track/Signed Up/1-0-1', headers: h, payload: fix }))
        .statusCode,
    ).toBe(201)
    const replay = await call({
      method: 'POST',
      url: '/api/v1/failed-events/replay',
      headers: h,
      payload: {},
    })
    expect(replay.json()).toMatchObject({ replayed: 1, stillFailing: 0 })
    const events = (await call({ url: '/api/v1/events?names=Signed Up', headers: bearer(KEYS.read) })).json()
      .events
    expect(events).toHaveLength(1)
  })
})

describe('replay of a failed event', () => {
  it("should format the event with its request's client IP and User-Agent, kept anonymised", async () => {
    const h = bearer(KEYS.admin)
    const schema = { type: 'object', required: ['plan'], properties: { plan: { type: 'string' } } }
    await call({ method: 'PUT', url: '/api/v1/schemas/track/Upgraded/1-0-0', headers: h, payload: schema })
    await call({
      method: 'PATCH',
      url: '/api/v1/project/settings',
      headers: h,
      payload: { enforcement: 'block' },
    })
    const chrome =
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
    const sent = await call({
      method: 'POST',
      url: '/api/v1/events',
      remoteAddress: '203.0.113.77',
      headers: { ...bearer(KEYS.write), 'user-agent': chrome },
      payload: trackEvent({ name: 'Upgraded', anonymousId: 'a-1', properties: { plan: 3 } }),
    })
    expect(sent.json()).toMatchObject({ rejected: 1 })
    const [failed] = (await call({ url: '/api/v1/failed-events', headers: bearer(KEYS.read) })).json()
      .failedEvents
    // Kept as events keep it: never the raw address.
    expect(failed).toMatchObject({ clientIp: '203.0.113.0', userAgent: chrome })

    // Nor the one the event carries in its payload (it was kept raw in the failed-event store).
    await call({
      method: 'POST',
      url: '/api/v1/events',
      headers: bearer(KEYS.write),
      payload: trackEvent({
        name: 'Upgraded',
        messageId: 'with-ip',
        context: { ip: '198.51.100.23' },
        properties: { plan: 4 },
      }),
    })
    const kept = (await call({ url: '/api/v1/failed-events', headers: bearer(KEYS.read) })).json()
      .failedEvents
    const withIp = kept.find((f: { payload: { messageId?: string } }) => f.payload.messageId === 'with-ip')
    expect(withIp.payload.context).toEqual({ ip: '198.51.100.0' })

    const fix = { type: 'object', required: ['plan'], properties: { plan: { type: ['string', 'integer'] } } }
    await call({ method: 'PUT', url: '/api/v1/schemas/track/Upgraded/1-0-1', headers: h, payload: fix })
    const replay = await call({
      method: 'POST',
      url: '/api/v1/failed-events/replay',
      headers: h,
      payload: {},
    })
    expect(replay.json()).toMatchObject({ replayed: 2 })
    const events = (await call({ url: '/api/v1/events?names=Upgraded', headers: bearer(KEYS.read) })).json()
      .events
    expect(events.find((e: { messageId: string }) => e.messageId === 'with-ip').context.ip).toBe(
      '198.51.100.0',
    )
    const event = events.find((e: { messageId: string }) => e.messageId !== 'with-ip')
    expect(event.context).toMatchObject({
      ip: '203.0.113.0',
      userAgent: chrome,
      userAgentData: { browser: { name: 'Chrome' } },
    })
    expect(event.sessionId).toEqual(expect.any(String))
  })
})

describe('an event over the size limit', () => {
  it('should keep only its ids as the failed event (kept whole, 1.5 MB broke the scale-out stream) and never replay it', async () => {
    const big = trackEvent({ messageId: 'big-1', userId: 'u-big', properties: { blob: 'x'.repeat(100_000) } })
    const sent = await call({
      method: 'POST',
      url: '/api/v1/events',
      headers: bearer(KEYS.write),
      payload: { events: [big, trackEvent({ messageId: 'small-1' })] },
    })
    expect(sent.json()).toMatchObject({ accepted: 1, rejected: 1 })
    const [failed] = (await call({ url: '/api/v1/failed-events', headers: bearer(KEYS.read) })).json()
      .failedEvents
    expect(failed.payload).toMatchObject({ type: 'track', messageId: 'big-1', userId: 'u-big' })
    expect(JSON.stringify(failed.payload).length).toBeLessThan(1000)
    expect(failed.errors.map((e: { code: string }) => e.code)).toEqual(
      expect.arrayContaining(['too_large', 'payload_altered']),
    )
    expect((await replayFailed()).json()).toMatchObject({ replayed: 0, stillFailing: 1 })
  })
})

describe('finding an event by its messageId', () => {
  it("should answer the one stored event for a messageId, over GET and POST, only in the key's project", async () => {
    await call({
      method: 'POST',
      url: '/api/v1/events',
      headers: bearer(KEYS.write),
      payload: { events: [trackEvent({ messageId: 'find-me' }), trackEvent({ messageId: 'not-me' })] },
    })
    const got = await call({ url: '/api/v1/events?messageId=find-me', headers: bearer(KEYS.read) })
    expect(got.json().events.map((e: { messageId: string }) => e.messageId)).toEqual(['find-me'])
    const posted = await call({
      method: 'POST',
      url: '/api/v1/events/query',
      headers: bearer(KEYS.read),
      payload: { messageId: 'find-me' },
    })
    expect(posted.json().events).toHaveLength(1)
    const other = await call({ url: '/api/v1/events?messageId=find-me', headers: bearer(t.otherKeys.read) })
    expect(other.json().events).toEqual([])
  })
})

describe('replay of a failed event kept altered', () => {
  it('should never replay an event whose payload could not be kept as sent (NUL came back as escape text and was stored)', async () => {
    const sent = await call({
      method: 'POST',
      url: '/api/v1/events',
      headers: { ...bearer(KEYS.write), 'content-type': 'application/json' },
      payload: `{"type":"track","name":"Noted","userId":"z","messageId":"nul-1","properties":{"note":"a\\u0000b","k\\u0000":2}}`,
    })
    expect(sent.json()).toMatchObject({ rejected: 1 })
    const [failed] = (await call({ url: '/api/v1/failed-events', headers: bearer(KEYS.read) })).json()
      .failedEvents
    expect(failed.payload.properties).toEqual({ note: 'a\\u0000b', 'k\\u0000': 2 }) // escape text, not a NUL
    expect(failed.errors.map((e: { code: string }) => e.code)).toContain('payload_altered')
    for (let i = 0; i < 2; i++) {
      expect((await replayFailed()).json()).toMatchObject({ replayed: 0, stillFailing: 1 })
    }
    expect(
      (await call({ url: '/api/v1/events?names=Noted', headers: bearer(KEYS.read) })).json().events,
    ).toEqual([])
  })
})

describe('tracking plan: hostile schemas', () => {
  const put = (name: string, payload: Record<string, unknown>) =>
    call({ method: 'PUT', url: `/api/v1/schemas/track/${name}/1-0-0`, headers: bearer(KEYS.admin), payload })

  it('should mark a stored schema that no longer compiles as unusable in the listing', async () => {
    // Saved before the $ref-cycle check existed (straight into the store): the plan still loads, its events
    // get a finding — and GET /api/v1/schemas says which version is unusable and why.
    await t.app.store.saveSchema({
      projectId: 'default',
      eventType: 'track',
      eventName: 'Loop',
      version: '1-0-0',
      jsonSchema: { type: 'object', allOf: [{ $ref: '#' }] },
      createdAt: '2026-01-01T00:00:00.000Z',
    })
    expect((await put('Fine', { type: 'object' })).statusCode).toBe(201)
    const list = (await call({ url: '/api/v1/schemas', headers: bearer(KEYS.read) })).json().schemas
    const byName = Object.fromEntries(list.map((s: { eventName: string }) => [s.eventName, s]))
    expect(byName.Loop.unusable).toMatch(/applies itself to the same value without end/)
    expect(byName.Fine).toBeDefined()
    expect(byName.Fine).not.toHaveProperty('unusable')
  })

  it('should take a ReDoS pattern and answer a hostile value at once (linear-time regex engine)', async () => {
    const schema = { type: 'object', properties: { code: { type: 'string', pattern: '^(a|a)*$' } } }
    expect((await put('Hostile', schema)).statusCode).toBe(201)
    await call({
      method: 'PATCH',
      url: '/api/v1/project/settings',
      headers: bearer(KEYS.admin),
      payload: { enforcement: 'block' },
    })
    // JavaScript's engine needs 1.15 s at 27 characters, doubling with each one: 65 would never end.
    const res = await call({
      method: 'POST',
      url: '/api/v1/events',
      headers: bearer(KEYS.write),
      payload: {
        events: [
          trackEvent({ name: 'Hostile', properties: { code: `${'a'.repeat(26)}!` } }),
          trackEvent({ name: 'Hostile', properties: { code: `${'a'.repeat(64)}!` } }),
          trackEvent({ name: 'Hostile', properties: { code: 'aaaa' } }),
        ],
      },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ accepted: 1, rejected: 2 })
  })

  it('should refuse a backreference, a lookahead and a self-referencing schema with schema_invalid', async () => {
    const backref = await put('Backref', { properties: { v: { type: 'string', pattern: '^(a)\\1$' } } })
    expect(backref.statusCode).toBe(400)
    expect(backref.json().error).toMatchObject({
      code: 'schema_invalid',
      message: expect.stringContaining('backreferences'),
      details: { unsafePatterns: [{ path: '/properties/v/pattern', pattern: '^(a)\\1$' }] },
    })
    const lookahead = await put('Lookahead', { patternProperties: { '^(?!x)': {} } })
    expect(lookahead.json().error).toMatchObject({
      code: 'schema_invalid',
      message: expect.stringContaining('lookahead'),
    })
    const loop = await put('Loop', { type: 'object', allOf: [{ $ref: '#' }] })
    expect(loop.statusCode).toBe(400)
    expect(loop.json().error).toMatchObject({
      code: 'schema_invalid',
      details: { refCycle: ['#', '#/allOf/0', '#'] },
    })
    const tree = await put('Tree', {
      type: 'object',
      properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#' } } },
    })
    expect(tree.statusCode).toBe(201)
    const list = await call({ url: '/api/v1/schemas', headers: bearer(KEYS.read) })
    expect(list.json().schemas.map((s: { eventName: string }) => s.eventName)).toEqual(['Tree'])
  })
})

describe('keys', () => {
  it('should create a key shown once, list keys without secrets, and revoke', async () => {
    const h = bearer(KEYS.admin)
    const created = await call({
      method: 'POST',
      url: '/api/v1/keys',
      headers: h,
      payload: { role: 'read', name: 'dashboard' },
    })
    expect(created.statusCode).toBe(201)
    const { secret, id } = created.json()
    expect(secret).toMatch(/^tly_r_[A-Za-z0-9_-]{43}$/)
    expect((await call({ url: '/api/v1/events', headers: bearer(secret) })).statusCode).toBe(200)
    const list = (await call({ url: '/api/v1/keys', headers: h })).json()
    expect(JSON.stringify(list)).not.toContain(secret)
    expect(list.keys.some((k: { id: string }) => k.id === id)).toBe(true)
    expect((await call({ method: 'DELETE', url: `/api/v1/keys/${id}`, headers: h })).statusCode).toBe(204)
    expect((await call({ url: '/api/v1/events', headers: bearer(secret) })).statusCode).toBe(401)
  })
})
