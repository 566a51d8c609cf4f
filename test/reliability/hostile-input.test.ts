import { connect } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ERROR_CODES } from '../../src/errors/codes.js'
import { KEYS } from '../integration/http-helpers.js'
import { type CapturedApp, createCapturedApp } from './helpers/captured-app.js'
import { recordFigures } from './helpers/figures.js'
import { CONTENT_TYPES, HOSTILE_BODIES, HOSTILE_STRINGS } from './hostile-corpus.js'

// Suite 4. Short in `npm test`; long: FUZZ_RUNS=100000 (RELIABILITY.md).
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500)
const SOCKET_SAMPLE = Math.max(50, Math.min(2000, Math.floor(RUNS / 50)))

interface Op {
  method: string
  path: string
  query: string[]
}
interface Req {
  method: string
  url: string
  headers: Record<string, string>
  body?: Buffer
}

let t: CapturedApp
let ops: Op[] = []
/** Percent-encodes the UTF-8 bytes of `s` (lone surrogates included, where encodeURIComponent throws). */
function enc(s: string): string {
  let out = ''
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b)
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** Heap in use after a full collection, MB (the server runs in this process). */
function heapAfterGc(): number {
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
  return Math.round(process.memoryUsage().heapUsed / 1e6)
}

const statuses = new Map<number, number>()
const failures: string[] = []

beforeAll(async () => {
  // Logs are written (at trace, as a server would) but not kept: memory figures are the server's.
  t = await createCapturedApp(
    { TALLY_RATE_LIMIT_MAX: '0', TALLY_MAX_EVENT_LOOP_DELAY_MS: '0' },
    { keepLogs: false },
  )
  const inject = (method: string, url: string, payload?: unknown) =>
    t.app.server.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${KEYS.admin}` },
      payload: payload as object,
    })
  await inject('POST', '/api/v1/events', {
    events: Array.from({ length: 50 }, (_, i) => ({
      type: 'track',
      name: `E${i % 5}`,
      userId: `u${i}`,
      properties: { n: i, s: 'x' },
    })),
  })
  const doc = (await inject('GET', '/openapi.json')).json() as {
    paths: Record<string, Record<string, { parameters?: { in: string; name: string }[] }>>
  }
  ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
    })),
  )
})
afterAll(async () => {
  await t?.close()
})

/** Checks one answer: never 5xx, and every refusal the documented error body. */
function check(
  req: Pick<Req, 'method' | 'url'> & { via?: string },
  status: number,
  contentType: string | undefined,
  body: string,
): void {
  statuses.set(status, (statuses.get(status) ?? 0) + 1)
  const label = `${req.via ?? ''}${req.method} ${req.url.slice(0, 200)}`
  if (status >= 500) failures.push(`${status} ${label}: ${body.slice(0, 300)}`)
  // A HEAD answer has no body by definition (RFC 9110); its status is still checked.
  const head = req.method === 'HEAD'
  // Paths outside the API (after URL normalisation, e.g. /api/v1/events/../../etc/passwd → /etc/passwd)
  // belong to the dashboard, which answers browsers with its HTML page.
  let path = ''
  try {
    path = new URL(req.url, 'http://x').pathname
  } catch {}
  const api = /^\/(api|v1|healthz|readyz|metrics|openapi\.json)(\/|$)/.test(path)
  if (!api && contentType?.startsWith('text/html')) return
  if (status >= 400 && !head) {
    let parsed: { error?: { code?: unknown; message?: unknown; statusCode?: unknown } } | undefined
    try {
      parsed = JSON.parse(body)
    } catch {
      failures.push(`${status} ${label}: body is not JSON: ${body.slice(0, 200)}`)
      return
    }
    const e = parsed?.error
    if (
      !e ||
      typeof e.code !== 'string' ||
      !(e.code in ERROR_CODES) ||
      typeof e.message !== 'string' ||
      e.statusCode !== status ||
      !contentType?.startsWith('application/json')
    ) {
      failures.push(`${status} ${label}: not the documented error body: ${body.slice(0, 200)}`)
    }
  }
}

async function send(req: Req): Promise<void> {
  const res = await t.app.server.inject({
    method: req.method as 'GET',
    url: req.url,
    headers: req.headers,
    ...(req.body === undefined ? {} : { payload: req.body }),
  })
  check(req, res.statusCode, res.headers['content-type'] as string | undefined, res.body)
}

const hostile = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.double().map(String) },
  {
    weight: 1,
    arbitrary: fc
      .date({ noInvalidDate: false })
      .map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString())),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
)

const jsonBody = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }),
  fc.record({
    events: fc.array(
      fc.record(
        {
          type: fc.oneof(
            fc.constantFrom('track', 'page', 'identify', 'performance', 'api_request', 'interaction'),
            hostile,
          ),
          name: hostile,
          userId: hostile,
          messageId: hostile,
          timestamp: hostile,
          properties: fc.dictionary(hostile, fc.jsonValue({ maxDepth: 4 })),
          context: fc.dictionary(hostile, fc.jsonValue({ maxDepth: 3 })),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 5 },
    ),
  }),
  fc.record(
    {
      where: fc.array(
        fc.record({
          path: hostile,
          op: fc.oneof(fc.constantFrom('eq', 'gte', 'in', 'exists', 'contains'), hostile),
          value: fc.jsonValue({ maxDepth: 2 }),
        }),
        { maxLength: 3 },
      ),
      limit: fc.oneof(fc.integer(), fc.double(), hostile),
      cursor: hostile,
      from: hostile,
      to: hostile,
      ids: fc.array(hostile, { maxLength: 3 }),
      role: hostile,
      consumer: hostile,
      userId: hostile,
      batch: fc.array(
        fc.dictionary(
          fc.constantFrom(
            'type',
            'event',
            'name',
            'messageId',
            'userId',
            'properties',
            '__proto__',
            'constructor',
          ),
          fc.jsonValue({ maxDepth: 3 }),
        ),
        { maxLength: 4 },
      ),
    },
    { requiredKeys: [] },
  ),
)

const bodyArb = fc.oneof(
  {
    weight: 4,
    arbitrary: jsonBody.map((v) => ({
      body: Buffer.from(JSON.stringify(v) ?? 'null'),
      encoding: undefined as string | undefined,
    })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(jsonBody, fc.nat()).map(([v, cut]) => {
      const s = Buffer.from(JSON.stringify(v) ?? 'null')
      return { body: s.subarray(0, cut % (s.length + 1)), encoding: undefined as string | undefined }
    }),
  },
  {
    weight: 1,
    arbitrary: jsonBody.map((v) => ({
      body: gzipSync(Buffer.from(JSON.stringify(v) ?? 'null')),
      encoding: 'gzip' as string | undefined,
    })),
  },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 300 })
      .map((b) => ({ body: Buffer.from(b), encoding: undefined as string | undefined })),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...HOSTILE_BODIES).map((h) => ({ body: h.body, encoding: h.encoding })),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
)

const authArb = fc.constantFrom<string | undefined>(
  `Bearer ${KEYS.admin}`,
  `Bearer ${KEYS.admin}`,
  `Bearer ${KEYS.read}`,
  `Bearer ${KEYS.write}`,
  `Basic ${Buffer.from(`${KEYS.write}:`).toString('base64')}`,
  undefined,
  'Bearer',
  'Basic !!!',
  `Basic ${Buffer.from('\u0000:\u0000').toString('base64')}`,
  `Bearer ${'x'.repeat(5000)}`,
  'Digest username="x"',
)

function requestArb(): fc.Arbitrary<Req> {
  return fc
    .record({
      op: fc.constantFrom(...ops),
      params: fc.array(fc.tuple(hostile, fc.boolean()), { minLength: 4, maxLength: 4 }),
      query: fc.array(
        fc.tuple(
          fc.oneof(
            fc.constantFrom(
              'limit',
              'cursor',
              'from',
              'to',
              'where',
              'format',
              'types',
              'unit',
              'timeZone',
              'groupBy',
              'code',
              'names',
              '__proto__',
            ),
            hostile,
          ),
          hostile,
        ),
        { maxLength: 5 },
      ),
      knownQuery: fc.array(hostile, { maxLength: 4 }),
      auth: authArb,
      contentType: fc.constantFrom(...CONTENT_TYPES),
      body: bodyArb,
      method: fc.option(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'), {
        freq: 10,
      }),
    })
    .map(({ op, params, query, knownQuery, auth, contentType, body, method }) => {
      let i = 0
      const path = op.path.replace(/\{[^}]+\}/g, () => {
        const [value, raw] = params[i++ % params.length]
        return raw ? value.replace(/[?#\s]/g, '') || 'x' : enc(value)
      })
      const qs = [
        ...query.map(([k, v]) => `${enc(k)}=${enc(v)}`),
        ...knownQuery.map((v, k) => `${op.query[k % Math.max(1, op.query.length)] ?? 'x'}=${enc(v)}`),
      ].join('&')
      const headers: Record<string, string> = {}
      if (auth !== undefined) headers.authorization = auth
      if (contentType !== undefined) headers['content-type'] = contentType
      if (body?.encoding) headers['content-encoding'] = body.encoding
      const m = method ?? op.method
      return {
        method: m,
        url: `${path}${qs ? `?${qs}` : ''}`,
        headers,
        body: m === 'GET' || m === 'HEAD' ? undefined : body?.body,
      }
    })
}

describe('hostile input (fuzzing the real server)', () => {
  it('should answer every handcrafted hostile body on every route with a documented 4xx or a 2xx', async () => {
    for (const op of ops.filter((o) => o.method !== 'GET')) {
      for (const h of HOSTILE_BODIES) {
        for (const ct of ['application/json', 'text/plain']) {
          const auth = op.path.startsWith('/v1/')
            ? `Basic ${Buffer.from(`${KEYS.write}:`).toString('base64')}`
            : `Bearer ${KEYS.admin}`
          await send({
            method: op.method,
            url: op.path.replace(/\{type\}/, 'track').replace(/\{[^}]+\}/g, 'x'),
            headers: {
              authorization: auth,
              'content-type': ct,
              ...(h.encoding ? { 'content-encoding': h.encoding } : {}),
            },
            body: h.body,
          })
        }
      }
    }
    for (const op of ops.filter((o) => o.method === 'GET')) {
      for (const s of HOSTILE_STRINGS) {
        const qs = op.query.map((q) => `${q}=${enc(s)}`).join('&')
        const path = op.path.replace(/\{[^}]+\}/g, enc(s) || 'x')
        await send({
          method: 'GET',
          url: `${path}?${qs}`,
          headers: { authorization: `Bearer ${KEYS.admin}` },
        })
      }
    }
    expect(failures).toEqual([])
  }, 120_000)

  it(`should never answer 5xx nor an undocumented error body over ${RUNS} generated requests`, async () => {
    const rssBefore = process.memoryUsage().rss
    const heapBefore = heapAfterGc()
    const started = Date.now()
    await fc.assert(
      fc.asyncProperty(requestArb(), async (req) => {
        await send(req)
        return true
      }),
      { numRuns: RUNS, seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined },
    )
    // The server still works afterwards.
    const ok = await t.app.server.inject({ method: 'GET', url: '/readyz' })
    expect(ok.statusCode).toBe(200)
    recordFigures('fuzz', {
      runs: RUNS,
      seconds: (Date.now() - started) / 1000,
      statuses: Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])),
      fiveXx: failures.filter((f) => f.startsWith('5')).length,
      rssBeforeMb: Math.round(rssBefore / 1e6),
      rssAfterMb: Math.round(process.memoryUsage().rss / 1e6),
      heapAfterGcBeforeMb: heapBefore,
      heapAfterGcAfterMb: heapAfterGc(),
    })
    expect(failures.slice(0, 20)).toEqual([])
  }, 600_000)

  it(`should survive a real-socket sample of ${SOCKET_SAMPLE} requests and malformed HTTP`, async () => {
    const url = await t.app.listen()
    const { port } = new URL(url)
    const raw = (text: string | Buffer) =>
      new Promise<string>((resolve) => {
        const s = connect(Number(port), '127.0.0.1')
        let got = ''
        s.on('data', (d) => {
          got += d.toString('latin1')
        })
        s.on('error', () => resolve(got))
        s.on('close', () => resolve(got))
        s.setTimeout(5000, () => s.destroy())
        s.end(text)
      })
    const malformed = [
      `POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEYS.write}\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"type":"track"`,
      'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n',
      'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n',
      'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/v1/keys HTTP/1.1\r\nHost: x\r\n\r\n',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`,
      'BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /api/v1/events/%ZZ HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET / HTTP/9.9\r\n\r\n',
      '\u0000\u0001\u0002\r\n\r\n',
      Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), // a TLS ClientHello
    ]
    for (const m of malformed) {
      const answer = await raw(m)
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]
      if (status && Number(status) >= 500)
        failures.push(`raw ${String(m).slice(0, 60)}: ${answer.slice(0, 200)}`)
    }
    await fc.assert(
      fc.asyncProperty(requestArb(), async (req) => {
        const res = await fetch(`${url}${req.url.startsWith('/') ? req.url : `/${req.url}`}`, {
          method: req.method,
          headers: req.headers,
          body:
            req.body && req.method !== 'GET' && req.method !== 'HEAD' ? new Uint8Array(req.body) : undefined,
          signal: AbortSignal.timeout(15_000),
        }).catch((e: Error) => e)
        if (res instanceof Error) {
          if (!/invalid|header|method|URL/i.test(res.message))
            failures.push(`socket ${req.method} ${req.url}: ${res.message}`)
          return true
        }
        check(
          { via: 'socket ', method: req.method, url: req.url },
          res.status,
          res.headers.get('content-type') ?? undefined,
          req.method === 'HEAD' ? '' : await res.text(),
        )
        return true
      }),
      { numRuns: SOCKET_SAMPLE },
    )
    const health = await fetch(`${url}/healthz`)
    expect(health.status).toBe(200)
    expect(failures.slice(0, 20)).toEqual([])
  }, 300_000)
})

/** Defects the fuzzer found, each pinned by its smallest request. */
describe('hostile input regressions', () => {
  it('should answer an OPTIONS that is not a CORS preflight without the plain-text 400 of @fastify/cors', async () => {
    const res = await t.app.server.inject({ method: 'OPTIONS', url: '/api/v1/events' })
    expect(res.statusCode).toBeLessThan(300)
  })

  it('should give a malformed %-escape in the path the documented error body (was Fastify’s own)', async () => {
    const res = await t.app.server.inject({ method: 'GET', url: '/api/v1/keys/D%0"i}' })
    expect(res.json().error).toMatchObject({ code: 'not_found', statusCode: 404 })
  })

  it('should refuse oversized headers and malformed HTTP with the documented body (was Fastify’s own)', async () => {
    const url = await t.app
      .listen()
      .catch(() => `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`)
    const { port } = new URL(url)
    const ask = (text: string) =>
      new Promise<string>((resolve) => {
        const s = connect(Number(port), '127.0.0.1')
        let got = ''
        s.on('data', (d) => {
          got += d.toString('utf8')
        })
        s.on('close', () => resolve(got))
        s.on('error', () => resolve(got))
        s.end(text)
      })
    const big = await ask(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`)
    expect(big).toMatch(/^HTTP\/1\.1 431 /)
    expect(JSON.parse(big.slice(big.indexOf('\r\n\r\n') + 4)).error.code).toBe('headers_too_large')
    const bad = await ask(
      'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n',
    )
    expect(bad).toMatch(/^HTTP\/1\.1 400 /)
    expect(JSON.parse(bad.slice(bad.indexOf('\r\n\r\n') + 4)).error.code).toBe('malformed_request')
    // Node answered these itself: a bare 417 with an empty body, and no answer at all to CONNECT.
    const expect999 = await ask('GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 999-bogus\r\n\r\n')
    expect(expect999).toMatch(/^HTTP\/1\.1 417 /)
    expect(JSON.parse(expect999.slice(expect999.indexOf('\r\n\r\n') + 4)).error.code).toBe(
      'expectation_failed',
    )
    const tunnel = await ask('CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n')
    expect(tunnel).toMatch(/^HTTP\/1\.1 405 /)
    expect(tunnel).toMatch(/\r\nAllow: DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT\r\n/)
    expect(JSON.parse(tunnel.slice(tunnel.indexOf('\r\n\r\n') + 4)).error.code).toBe('method_not_allowed')
  })
})
