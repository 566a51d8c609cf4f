/**
 * Per-request overhead of the Node SDK's api_request middleware, in one run against the same app without it:
 *  - Fastify: `app.inject()` of GET /users/:id with and without the `tallyFastify` plugin;
 *  - Express: the same route through light-my-request (Fastify's injector, which drives any (req, res) handler)
 *    with and without `tallyExpress`;
 *  - Express again, against an app with one empty middleware (what any middleware costs in Express);
 *  - the recording step alone (`recordApiRequest`: template, sampling, event build, enqueue).
 * The client is a real `Tally` whose `fetch` answers at once, so the cost of batching and serialising the
 * events is included (it runs off the request path, but on the same core). Rounds alternate A/B; the median
 * round is reported.
 *
 *   npx tsx bench/sdk-middleware.ts [--requests 20000] [--rounds 7]
 */
import { parseArgs } from 'node:util'
import express from 'express'
import Fastify from 'fastify'
import { inject } from 'light-my-request'
import { recordApiRequest, resolveApiRequestOptions } from '../sdk/node/src/api-request.js'
import { Tally, tallyExpress, tallyFastify } from '../sdk/node/src/index.js'

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '7' } },
})
const REQUESTS = Number(values.requests)
const ROUNDS = Number(values.rounds)

const answer = JSON.stringify({ accepted: 0, duplicates: 0, rejected: 0, dropped: 0, results: [] })
const fakeFetch = (async () => new Response(answer, { status: 200 })) as typeof fetch
const newTally = () =>
  new Tally({ host: 'http://127.0.0.1:1', writeKey: 'tly_w_bench', fetch: fakeFetch, gzipAbove: 0 })

async function fastifyApp(withSdk: boolean) {
  const app = Fastify()
  if (withSdk) await app.register(tallyFastify, { tally: newTally() })
  app.get('/users/:id', async (req) => ({ id: (req.params as { id: string }).id }))
  await app.ready()
  return (url: string) => app.inject(url)
}

function expressApp(withSdk: boolean, emptyMiddleware = false) {
  const app = express()
  if (withSdk) app.use(tallyExpress(newTally()))
  else if (emptyMiddleware) app.use((_req, _res, next) => next())
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id })
  })
  return (url: string) => inject(app as never, { url })
}

/** Mean µs per request over one round. */
async function round(call: (url: string) => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint()
  for (let i = 0; i < REQUESTS; i++) {
    await call(`/users/${i}`)
    // Injected requests resolve through microtasks only; let the event loop turn as a real server's does.
    if (i % 100 === 99) await new Promise(setImmediate)
  }
  return Number(process.hrtime.bigint() - start) / 1e3 / REQUESTS
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function compare(
  name: string,
  make: (withSdk: boolean) => Promise<(url: string) => Promise<unknown>>,
  baseline?: () => Promise<(url: string) => Promise<unknown>>,
) {
  const without = baseline ? await baseline() : await make(false)
  const withSdk = await make(true)
  await round(without) // warm-up
  await round(withSdk)
  const a: number[] = []
  const b: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    a.push(await round(without))
    b.push(await round(withSdk))
  }
  const base = median(a)
  const sdk = median(b)
  console.log(
    `${name.padEnd(26)} without ${base.toFixed(2)} µs/req  with ${sdk.toFixed(2)} µs/req  overhead ${(sdk - base).toFixed(2)} µs (ratio ${(sdk / base).toFixed(3)})`,
  )
}

function recordOnly() {
  const tally = newTally()
  const o = resolveApiRequestOptions(tally)
  const done = {
    method: 'GET',
    route: '/users/:id',
    url: '/users/1',
    statusCode: 200,
    durationMs: 1.25,
    requestBytes: undefined,
    responseBytes: '12',
    error: undefined,
  }
  const n = REQUESTS * 10
  const start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) recordApiRequest(o, {}, done)
  const us = Number(process.hrtime.bigint() - start) / 1e3 / n
  console.log(`${'record'.padEnd(26)} recordApiRequest + enqueue alone: ${us.toFixed(2)} µs/call`)
  return tally.close()
}

console.log(`api_request middleware overhead, ${REQUESTS} requests x ${ROUNDS} rounds (median round)`)
await compare('fastify', fastifyApp)
await compare('express', async (w) => expressApp(w))
// Express pays for every middleware layer it walks; this baseline has one that only calls next().
await compare(
  'express vs empty middleware',
  async (w) => expressApp(w),
  async () => expressApp(false, true),
)
await recordOnly()
