import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type ApiRequestOptions,
  type ResolvedApiRequestOptions,
  recordApiRequest,
  resolveApiRequestOptions,
} from '../src/api-request.js'
import { Tally, type TallySdkError } from '../src/index.js'

/** A client whose fetch keeps every body it is given and answers 200 at once. */
function capturingTally(extra: { flushAt?: number; maxQueueSize?: number } = {}) {
  const bodies: { events: Record<string, any>[]; sentAt: string }[] = []
  const errors: TallySdkError[] = []
  const tally = new Tally({
    host: 'http://tally.test',
    writeKey: 'tly_w_test',
    gzipAbove: 0,
    flushInterval: 60_000,
    ...extra,
    onError: (e) => errors.push(e),
    fetch: (async (_url: string, init: RequestInit) => {
      bodies.push(JSON.parse(Buffer.from(init.body as Uint8Array).toString('utf8')))
      return new Response('{"accepted":1,"duplicates":0,"rejected":0,"dropped":0,"results":[]}')
    }) as typeof fetch,
  })
  const events = () => bodies.flatMap((b) => b.events)
  return { tally, bodies, errors, events }
}

interface Done {
  method: string
  route: string
  url: string
  statusCode: number
  durationMs: number
  requestBytes: unknown
  responseBytes: unknown
  error: unknown
}

/** What the SDK recorded before events were written as bytes: an object, later JSON.stringify'd. */
function reference<R>(options: ApiRequestOptions<R>, done: Done, who: Record<string, unknown> | undefined) {
  const byteCount = (value: unknown) => {
    if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined
    if (typeof value !== 'string' || value === '') return undefined
    const n = Number(value)
    return Number.isInteger(n) && n >= 0 ? n : undefined
  }
  const properties: Record<string, unknown> = {
    method: done.method.toUpperCase(),
    route: done.route,
    statusCode: done.statusCode,
    durationMs: Math.round(done.durationMs * 1000) / 1000,
  }
  if (options.includePath) properties.path = done.url.split('?')[0]
  const requestBytes = byteCount(done.requestBytes)
  if (requestBytes !== undefined) properties.requestBytes = requestBytes
  const responseBytes = byteCount(done.responseBytes)
  if (responseBytes !== undefined) properties.responseBytes = responseBytes
  if (done.error != null)
    properties.error =
      typeof done.error === 'string'
        ? done.error
        : done.error instanceof Error
          ? done.error.constructor.name
          : typeof done.error
  return JSON.parse(
    JSON.stringify({ type: 'api_request', ...(who ?? { anonymousId: 'server' }), properties }),
  )
}

function record<R>(o: ResolvedApiRequestOptions<R>, d: Done, request: R = {} as R) {
  recordApiRequest(
    o,
    request,
    d.method,
    d.route,
    d.url,
    d.statusCode,
    d.durationMs,
    d.requestBytes,
    d.responseBytes,
    d.error,
  )
}

const done = (over: Partial<Done> = {}): Done => ({
  method: 'GET',
  route: '/users/:id',
  url: '/users/7?x=1',
  statusCode: 200,
  durationMs: 1.2345,
  requestBytes: undefined,
  responseBytes: '12',
  error: undefined,
  ...over,
})

describe('recordApiRequest', () => {
  it('should write the same event the object path made, for any request', async () => {
    const arbitraryDone = fc.record({
      method: fc.constantFrom('GET', 'post', 'DELETE', 'OPTIONS', 'PROPFIND', 'Patch'),
      route: fc.oneof(fc.constantFrom('/users/:id', '(unmatched)', '/'), fc.string({ unit: 'binary' })),
      url: fc.string({ unit: 'binary' }),
      statusCode: fc.integer({ min: 100, max: 599 }),
      durationMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
      requestBytes: fc.oneof(
        fc.constant(undefined),
        fc.nat(),
        fc.nat().map(String),
        fc.constantFrom('', 'x', -3),
      ),
      responseBytes: fc.oneof(fc.constant(undefined), fc.nat(), fc.nat().map(String), fc.constant(1.5)),
      error: fc.oneof(
        fc.constant(undefined),
        fc.constant('aborted'),
        fc.constant(new RangeError('x')),
        fc.constant(new Error('x')),
        fc.constant(42),
      ),
    })
    const arbitraryWho = fc.oneof(
      fc.constant(undefined),
      fc.record({ userId: fc.oneof(fc.string({ unit: 'binary', minLength: 1 }), fc.nat()) }),
      fc.record({ anonymousId: fc.string({ minLength: 1 }), userId: fc.string({ minLength: 1 }) }),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(arbitraryDone, arbitraryWho), { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        async (requests, includePath) => {
          const { tally, events } = capturingTally()
          const options: ApiRequestOptions<{ who?: Record<string, unknown> }> = {
            includePath,
            ignoreMethods: [],
            identify: (req) => req.who as never,
          }
          const o = resolveApiRequestOptions(tally, options)
          for (const [d, who] of requests) record(o, d, { who })
          await tally.flush()
          const sent = events()
          expect(sent).toHaveLength(requests.length)
          sent.forEach((event, i) => {
            const { messageId, timestamp, context, ...rest } = event
            expect(rest).toEqual(reference(options, requests[i][0], requests[i][1]))
            expect(messageId).toMatch(/^[0-9a-f-]{36}$/)
            expect(Date.parse(timestamp)).toBeGreaterThan(Date.now() - 60_000)
            expect(context).toEqual({ library: { name: '@tally/node', version: expect.any(String) } })
          })
        },
      ),
      { numRuns: 200 },
    )
  })

  it('should skip ignored methods, exact routes and route patterns, deciding once per route', async () => {
    const { tally, events } = capturingTally()
    const o = resolveApiRequestOptions(tally, { ignore: ['/health', /^\/internal\//] })
    for (const d of [
      done({ route: '/health' }),
      done({ route: '/internal/x' }),
      done({ method: 'OPTIONS' }),
      done({ method: 'options' }),
      done({ route: '/users/:id' }),
      done({ route: '/internal/x' }),
    ])
      record(o, d)
    await tally.flush()
    expect(events().map((e) => e.properties.route)).toEqual(['/users/:id'])
    expect([...o.routes.entries()].map(([route, json]) => [route, json === null])).toEqual([
      ['/health', true],
      ['/internal/x', true],
      ['/users/:id', false],
    ])
  })

  it('should record routes past the route cache correctly (their JSON made per request)', async () => {
    const { tally, events } = capturingTally({ flushAt: 1000, maxQueueSize: 20_000 })
    const o = resolveApiRequestOptions(tally, { ignore: [/^\/skip/] })
    for (let i = 0; i < 10_005; i++) record(o, done({ route: `/r/${i}` }))
    record(o, done({ route: '/skip/1' }))
    await tally.close()
    expect(o.routes.size).toBe(10_000)
    const routes = events().map((e) => e.properties.route)
    expect(routes).toHaveLength(10_005)
    expect(routes.slice(-3)).toEqual(['/r/10002', '/r/10003', '/r/10004'])
  })

  it('should sample, and keep 5xx sampled out unless alwaysRecordErrors is false', async () => {
    const { tally, events } = capturingTally()
    let r = 0
    const random = () => [0.1, 0.9][r++ % 2]
    const o = resolveApiRequestOptions(tally, { sampleRate: 0.5, random })
    for (let i = 0; i < 4; i++) record(o, done({ url: `/${i}`, statusCode: 200 }))
    record(o, done({ statusCode: 503 }))
    const strict = resolveApiRequestOptions(tally, { sampleRate: 0, alwaysRecordErrors: false })
    record(strict, done({ statusCode: 500 }))
    await tally.flush()
    expect(events().map((e) => e.properties.statusCode)).toEqual([200, 200, 503])
  })

  it('should record an anonymous request under the default identity when identify() names no one', async () => {
    // The README's `identify: (req) => ({ userId: req.user?.id })` dropped every anonymous request as
    // missing_identity (a new user's trial); now it is recorded as the server's, as without identify.
    const { tally, errors, events } = capturingTally()
    const o = resolveApiRequestOptions<{ user?: string }>(tally, {
      identify: (req) => ({ userId: req.user }),
    })
    record(o, done(), {})
    record(o, done(), { user: 'u1' })
    await tally.close()
    record(o, done({ route: '/late' }), { user: 'u2' })
    expect(events().map((e) => [e.userId, e.anonymousId])).toEqual([
      [undefined, 'server'],
      ['u1', undefined],
    ])
    expect(errors.map((e) => e.code)).toEqual(['closed'])
    expect(errors[0].details.events?.[0]).toMatchObject({
      type: 'api_request',
      userId: 'u2',
      properties: { route: '/late' },
    })
  })

  it('should take ids that are not strings or numbers through the object path, without corrupting the batch', async () => {
    const { tally, errors, events } = capturingTally()
    const o = resolveApiRequestOptions<{ id: unknown }>(tally, {
      identify: (req) => ({ userId: req.id as string }),
    })
    record(o, done({ statusCode: 201 }), { id: 42 })
    record(o, done({ statusCode: 202 }), { id: 10n })
    record(o, done({ statusCode: 203 }), { id: 'u"3' })
    await tally.close()
    expect(events().map((e) => [e.userId, e.properties.statusCode])).toEqual([
      [42, 201],
      ['u"3', 203],
    ])
    expect(errors.map((e) => e.code)).toEqual(['invalid_event'])
  })

  it('should record a request whose identify() throws under the default identity, and report it (it reached the app)', async () => {
    // A trial: `identify: (req) => ({ userId: req.user.id })` without a user made the app's answer a 500,
    // or crashed the process when the response was piped.
    const { tally, errors, events } = capturingTally()
    const o = resolveApiRequestOptions<{ user?: { id: string } }>(tally, {
      identify: (req) => ({ userId: req.user!.id }),
    })
    expect(() => record(o, done(), {})).not.toThrow()
    record(o, done({ statusCode: 201 }), { user: { id: 'u1' } })
    await tally.close()
    expect(events().map((e) => [e.userId, e.anonymousId, e.properties.statusCode])).toEqual([
      [undefined, 'server', 200],
      ['u1', undefined, 201],
    ])
    expect(errors.map((e) => e.code)).toEqual(['identify_failed'])
  })

  it('should report a full queue as queue_full even when identify() names no one, with every field of the event', async () => {
    // A trial: the fallback spread `{ userId: undefined }`, reported missing_identity once per request and
    // dropped the path, the error class and the byte counts.
    const { tally, errors } = capturingTally({ maxQueueSize: 2, flushAt: 100 })
    const o = resolveApiRequestOptions<{ user?: string }>(tally, {
      identify: (req) => ({ userId: req.user }),
      includePath: true,
    })
    for (let i = 0; i < 6; i++)
      record(o, done({ statusCode: 500, error: new TypeError('x'), requestBytes: 7 }), {})
    expect(errors.map((e) => e.code)).toEqual(['queue_full'])
    expect(errors[0].details.events?.[0]).toMatchObject({
      anonymousId: 'server',
      properties: { path: '/users/7', error: 'TypeError', requestBytes: 7, responseBytes: 12 },
    })
    await tally.close()
  })

  it('should report a full queue once, with the dropped event, and accept again after a send', async () => {
    const { tally, errors, events } = capturingTally({ maxQueueSize: 3, flushAt: 100 })
    const o = resolveApiRequestOptions(tally)
    for (let i = 0; i < 5; i++) record(o, done({ url: `/${i}`, statusCode: 200 + i }))
    expect(tally.queueSize).toBe(3)
    expect(errors.map((e) => e.code)).toEqual(['queue_full'])
    expect(errors[0].details.events?.[0]).toMatchObject({ properties: { statusCode: 203 } })
    await tally.flush()
    record(o, done({ statusCode: 299 }))
    await tally.close()
    expect(events().map((e) => e.properties.statusCode)).toEqual([200, 201, 202, 299])
  })
})
