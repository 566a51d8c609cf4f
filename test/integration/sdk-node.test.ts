import { once } from 'node:events'
import { createServer, type IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  Tally,
  type TallySdkError,
  tallyExpress,
  tallyExpressErrors,
  tallyFastify,
} from '../../sdk/node/src/index.js'
import { createTestApp, KEYS, type TestApp } from './http-helpers.js'

let t: TestApp
let host: string
beforeAll(async () => {
  t = await createTestApp({ TALLY_HOST: '127.0.0.1' })
  host = await t.app.listen()
})
afterAll(async () => {
  await t?.close()
})

type StoredEvent = {
  type: string
  name: string | null
  userId: string | null
  anonymousId: string | null
  messageId: string
  sentAt: string | null
  properties: Record<string, any>
  traits: Record<string, unknown> | null
  context: Record<string, any>
}

/** Every stored event of the given types (read back through the HTTP API with the read key). */
async function readEvents(
  types: string,
  filter: (e: StoredEvent) => boolean = () => true,
): Promise<StoredEvent[]> {
  const res = await fetch(`${host}/api/v1/events?types=${types}&limit=1000&order=asc`, {
    headers: { authorization: `Bearer ${KEYS.read}` },
  })
  expect(res.status).toBe(200)
  return ((await res.json()) as { events: StoredEvent[] }).events.filter(filter)
}

function collectErrors(): { errors: TallySdkError[]; onError: (e: TallySdkError) => void } {
  const errors: TallySdkError[] = []
  return { errors, onError: (e) => errors.push(e) }
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('Tally (Node SDK) against a real server', () => {
  it('should deliver track, identify, page and performance events with ids, times and library', async () => {
    const { errors, onError } = collectErrors()
    const tally = new Tally({ host, writeKey: KEYS.write, onError })
    tally.track({ userId: 'node-u1', name: 'Order Completed', properties: { total: 42 } })
    tally.identify({ userId: 'node-u1', traits: { plan: 'pro' } })
    tally.page({ anonymousId: 'node-a1', name: 'Pricing' })
    tally.performance({ userId: 'node-u1', name: 'TTFB', properties: { value: 120, unit: 'ms' } })
    expect(tally.queueSize).toBe(4)
    await tally.flush()
    expect(tally.queueSize).toBe(0)
    expect(errors).toEqual([])

    const mine = (e: StoredEvent) => e.userId === 'node-u1' || e.anonymousId === 'node-a1'
    const events = await readEvents('track,identify,page,performance', mine)
    expect(events.map((e) => e.type).sort()).toEqual(['identify', 'page', 'performance', 'track'])
    const track = events.find((e) => e.type === 'track')!
    expect(track).toMatchObject({ name: 'Order Completed', properties: { total: 42 } })
    expect(track.messageId).toMatch(/^[0-9a-f-]{36}$/)
    expect(track.sentAt).toEqual(expect.any(String))
    expect(track.context.library).toEqual({ name: '@tally/node', version: expect.any(String) })
    expect(events.find((e) => e.type === 'identify')!.traits).toEqual({ plan: 'pro' })
    expect(events.find((e) => e.type === 'performance')!.properties).toMatchObject({ value: 120, unit: 'ms' })
    await tally.close()
  })

  it('should deliver every queued event on close(), in batches of flushAt', async () => {
    const tally = new Tally({ host, writeKey: KEYS.write, flushAt: 100, flushInterval: 60_000 })
    for (let i = 0; i < 250; i++)
      tally.track({ anonymousId: 'close-test', name: 'Queued', properties: { i } })
    await tally.close()
    const events = await readEvents('track', (e) => e.anonymousId === 'close-test')
    expect(events.map((e) => e.properties.i).sort((a, b) => a - b)).toEqual([...Array(250).keys()])
    // Closed: later events are reported, not sent.
    const { errors, onError } = collectErrors()
    const closed = new Tally({ host, writeKey: KEYS.write, onError })
    await closed.close()
    closed.track({ userId: 'x', name: 'Late' })
    expect(errors.map((e) => e.code)).toEqual(['closed'])
  })

  it('should report missing identity and events the server rejects, without throwing', async () => {
    const { errors, onError } = collectErrors()
    const tally = new Tally({ host, writeKey: KEYS.write, onError })
    tally.track({ name: 'No one' } as never)
    tally.track({ userId: 'u', name: '' })
    await tally.close()
    expect(errors.map((e) => e.code)).toEqual(['missing_identity', 'events_rejected'])
    expect(errors[1].details.events).toHaveLength(1)
  })
})

describe('Tally retries', () => {
  let stub: Server
  let stubUrl: string
  const seen: { at: number; headers: IncomingMessage['headers']; body: any }[] = []
  let answers: { status: number; headers?: Record<string, string> }[] = []
  beforeAll(async () => {
    stub = createServer(async (req, res) => {
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      seen.push({ at: Date.now(), headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) })
      const answer = answers.shift() ?? { status: 200 }
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
      res.end(JSON.stringify({ accepted: 1, duplicates: 0, rejected: 0, dropped: 0, results: [] }))
    })
    stubUrl = await listen(stub)
  })
  afterAll(() => stub.close())

  it('should retry a 503 after Retry-After with the same messageIds, a new sentAt and X-Retry-Count', async () => {
    seen.length = 0
    answers = [{ status: 503, headers: { 'retry-after': '1' } }]
    const tally = new Tally({ host: stubUrl, writeKey: KEYS.write, retryBaseDelayMs: 1 })
    tally.track({ userId: 'u', name: 'Retried' })
    await tally.close()
    expect(seen).toHaveLength(2)
    expect(seen[1].at - seen[0].at).toBeGreaterThanOrEqual(950)
    expect(seen[1].body.events[0].messageId).toBe(seen[0].body.events[0].messageId)
    expect(seen[1].body.sentAt >= seen[0].body.sentAt).toBe(true)
    expect(seen[0].headers['x-retry-count']).toBeUndefined()
    expect(seen[1].headers['x-retry-count']).toBe('1')
    expect(seen[0].headers.authorization).toBe(`Bearer ${KEYS.write}`)
  })

  it('should not retry a 400 and report it as batch_refused', async () => {
    seen.length = 0
    answers = [{ status: 400 }]
    const { errors, onError } = collectErrors()
    const tally = new Tally({ host: stubUrl, writeKey: KEYS.write, onError })
    tally.track({ userId: 'u', name: 'Refused' })
    await tally.close()
    expect(seen).toHaveLength(1)
    expect(errors.map((e) => [e.code, e.details.status])).toEqual([['batch_refused', 400]])
  })

  it('should give up after maxRetries on a server that keeps failing or is down', async () => {
    seen.length = 0
    answers = [{ status: 500 }, { status: 429 }, { status: 502 }]
    const { errors, onError } = collectErrors()
    const tally = new Tally({
      host: stubUrl,
      writeKey: KEYS.write,
      maxRetries: 2,
      retryBaseDelayMs: 5,
      onError,
    })
    tally.track({ userId: 'u', name: 'Lost' })
    await tally.close()
    expect(seen).toHaveLength(3)
    expect(errors.map((e) => [e.code, e.details.status])).toEqual([['delivery_failed', 502]])

    const down = new Server()
    const downUrl = await listen(down)
    down.close()
    const { errors: downErrors, onError: onDownError } = collectErrors()
    const offline = new Tally({
      host: downUrl,
      writeKey: KEYS.write,
      maxRetries: 1,
      retryBaseDelayMs: 5,
      onError: onDownError,
    })
    offline.track({ userId: 'u', name: 'Lost' })
    await offline.close()
    expect(downErrors.map((e) => e.code)).toEqual(['delivery_failed'])
  })

  it('should gzip large batches', async () => {
    seen.length = 0
    const tally = new Tally({ host, writeKey: KEYS.write, gzipAbove: 100 })
    tally.track({ anonymousId: 'gzip-test', name: 'Big', properties: { text: 'x'.repeat(5000) } })
    await tally.close()
    expect(await readEvents('track', (e) => e.anonymousId === 'gzip-test')).toHaveLength(1)
  })
})

describe('api_request middleware', () => {
  it('should record Fastify requests by route template with status, duration, sizes and error class', async () => {
    const tally = new Tally({ host, writeKey: KEYS.write, flushInterval: 60_000 })
    const app = Fastify()
    await app.register(tallyFastify, {
      tally,
      ignore: ['/health'],
      identify: (req) => ({
        anonymousId: 'fastify-test',
        userId: req.headers['x-user'] as string | undefined,
      }),
    })
    app.get('/health', async () => ({ ok: true }))
    app.get('/users/:id', async (req) => ({ id: (req.params as { id: string }).id }))
    app.post('/orders', async (_req, reply) => reply.code(201).send({ ok: true }))
    app.get('/boom', async () => {
      throw new RangeError('out of range')
    })
    const base = await app.listen({ port: 0, host: '127.0.0.1' })
    await fetch(`${base}/health`)
    await fetch(`${base}/users/123?x=1`, { headers: { 'x-user': 'fast-user' } })
    await fetch(`${base}/users/456`)
    await fetch(`${base}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    })
    await fetch(`${base}/boom`)
    await fetch(`${base}/no/such/route`)
    await app.close()
    await tally.close()

    const events = await readEvents('api_request', (e) => e.anonymousId === 'fastify-test')
    const summary = events.map((e) => [e.name, e.properties.route, e.properties.statusCode]).sort()
    expect(summary).toEqual([
      ['GET (unmatched)', '(unmatched)', 404],
      ['GET /boom', '/boom', 500],
      ['GET /users/:id', '/users/:id', 200],
      ['GET /users/:id', '/users/:id', 200],
      ['POST /orders', '/orders', 201],
    ])
    for (const e of events) {
      expect(e.properties.durationMs).toBeGreaterThan(0)
      expect(e.properties.path).toBeUndefined()
    }
    expect(events.find((e) => e.properties.route === '/boom')!.properties.error).toBe('RangeError')
    const order = events.find((e) => e.properties.route === '/orders')!
    expect(order.properties).toMatchObject({ method: 'POST', requestBytes: 7, responseBytes: 11 })
    expect(events.filter((e) => e.userId === 'fast-user')).toHaveLength(1)
  })

  it('should record Express requests by baseUrl + route path, and the error class from tallyExpressErrors', async () => {
    const tally = new Tally({ host, writeKey: KEYS.write, flushInterval: 60_000 })
    const app = express()
    app.use(tallyExpress(tally, { identify: () => ({ anonymousId: 'express-test' }), includePath: true }))
    const router = express.Router()
    router.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id })
    })
    router.get('/fail', () => {
      throw new TypeError('bad')
    })
    app.use('/api', router)
    app.get('/', (_req, res) => {
      res.send('home')
    })
    app.use(tallyExpressErrors())
    app.use(((_err, _req, res, _next) => {
      res.status(500).send('error')
    }) as express.ErrorRequestHandler)
    const server = app.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    await fetch(`${base}/api/users/42`)
    await fetch(`${base}/api/fail`)
    await fetch(`${base}/`)
    await fetch(`${base}/missing/7`)
    server.close()
    await tally.close()

    const events = await readEvents('api_request', (e) => e.anonymousId === 'express-test')
    const summary = events.map((e) => [e.properties.route, e.properties.statusCode, e.properties.path]).sort()
    expect(summary).toEqual([
      ['(unmatched)', 404, '/missing/7'],
      ['/', 200, '/'],
      ['/api/fail', 500, '/api/fail'],
      ['/api/users/:id', 200, '/api/users/42'],
    ])
    expect(events.find((e) => e.properties.route === '/api/fail')!.properties.error).toBe('TypeError')
    expect(events.find((e) => e.properties.route === '/')!.properties.responseBytes).toBe(4)
    for (const e of events) expect(e.properties.durationMs).toBeGreaterThan(0)
  })

  it('should record Express templates under routers mounted twice and sub-apps, and aborted requests', async () => {
    const tally = new Tally({ host, writeKey: KEYS.write, flushInterval: 60_000 })
    const app = express()
    app.use(tallyExpress(tally, { identify: () => ({ anonymousId: 'express-mounts' }) }))
    const router = express.Router()
    // The handler reads req.route itself: the SDK's accessor must leave it working.
    router.get('/users/:id', (req, res) => {
      res.json({ path: req.route.path })
    })
    app.use('/v1', router)
    app.use('/v2', router)
    const sub = express()
    sub.get('/items/:id', (_req, res) => {
      res.send('item')
    })
    app.use('/sub', sub)
    let release: () => void = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    app.get('/slow', async (_req, res) => {
      await released
      if (!res.writableEnded) res.send('late')
    })
    const server = app.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    expect(await (await fetch(`${base}/v1/users/1`)).json()).toEqual({ path: '/users/:id' })
    await fetch(`${base}/v2/users/2`)
    await fetch(`${base}/v1/users/3`)
    await fetch(`${base}/sub/items/4`)
    const client = new AbortController()
    const slow = fetch(`${base}/slow`, { signal: client.signal }).catch(() => undefined)
    await new Promise((resolve) => setTimeout(resolve, 100))
    client.abort()
    await slow
    await new Promise((resolve) => setTimeout(resolve, 100))
    release()
    await new Promise((resolve) => setTimeout(resolve, 50))
    server.close()
    await tally.close()

    const events = await readEvents('api_request', (e) => e.anonymousId === 'express-mounts')
    expect(
      events.map((e) => [e.properties.route, e.properties.statusCode, e.properties.error ?? null]),
    ).toEqual([
      ['/v1/users/:id', 200, null],
      ['/v2/users/:id', 200, null],
      ['/v1/users/:id', 200, null],
      ['/sub/items/:id', 200, null],
      ['/slow', 499, 'aborted'], // was 200: counted as a success (a trial)
    ])
  })

  it('should record a request once when the app ends it twice, with the middleware in two apps or outside Express', async () => {
    const tally = new Tally({ host, writeKey: KEYS.write, flushInterval: 60_000 })
    const options = { identify: () => ({ anonymousId: 'express-once' }) }
    const app = express()
    app.use(tallyExpress(tally, options))
    app.get('/twice', (_req, res) => {
      res.end('one')
      res.end()
    })
    const sub = express()
    sub.use(tallyExpress(tally, options))
    sub.get('/inner', (_req, res) => {
      res.send('inner')
    })
    app.use('/sub', sub)
    const server = app.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    await fetch(`${base}/twice`)
    await fetch(`${base}/sub/inner`)
    server.close()
    // A plain Node server calling the middleware itself: no Express prototypes to extend.
    const middleware = tallyExpress(tally, options)
    const plain = createServer((req, res) => {
      middleware(req as never, res as never, () => {
        res.statusCode = 204
        res.end()
      })
    })
    await fetch(`${await listen(plain)}/plain`)
    plain.close()
    await tally.close()

    const events = await readEvents('api_request', (e) => e.anonymousId === 'express-once')
    expect(events.map((e) => [e.properties.route, e.properties.statusCode])).toEqual([
      ['/twice', 200],
      ['/sub/inner', 200],
      ['(unmatched)', 204],
    ])
  })

  it('should sample requests but keep every 5xx, and skip ignored patterns', async () => {
    const tally = new Tally({ host, writeKey: KEYS.write, flushInterval: 60_000 })
    const app = Fastify()
    await app.register(tallyFastify, {
      tally,
      sampleRate: 0,
      ignore: [/^\/internal\//],
      identify: () => ({ anonymousId: 'sampling-test' }),
    })
    app.get('/ok', async () => 'ok')
    app.get('/internal/fail', async () => {
      throw new Error('x')
    })
    app.get('/fail', async () => {
      throw new Error('x')
    })
    await app.ready()
    for (let i = 0; i < 5; i++) await app.inject('/ok')
    await app.inject('/internal/fail')
    await app.inject('/fail')
    await app.close()
    await tally.close()
    const events = await readEvents('api_request', (e) => e.anonymousId === 'sampling-test')
    expect(events.map((e) => [e.properties.route, e.properties.statusCode, e.properties.error])).toEqual([
      ['/fail', 500, 'Error'],
    ])
  })
})
