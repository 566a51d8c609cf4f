/**
 * Per-request overhead of the Node SDK's api_request middleware, in one run against the same app without it:
 *  - Fastify: `app.inject()` of GET /users/:id with and without the `tallyFastify` plugin;
 *  - Express: the same route through light-my-request (Fastify's injector, which drives any (req, res) handler)
 *    with and without `tallyExpress`;
 *  - Express again, against an app with one empty middleware (what any middleware costs in Express);
 *  - the recording step alone (`recordApiRequest`: template, sampling, queueing the event's parts), in chunks
 *    of 1,000 calls, each chunk then flushed (its JSON written and sent): timed without and with the flush.
 * The client is a real `Tally` whose `fetch` answers at once, so the cost of batching and serialising the
 * events is included (it runs off the request path, but on the same core). Bodies are not gzipped, as in the
 * issue's first measurement; `--gzip` uses the client's default (gzip above 1 KB), which adds the compression
 * (libuv's thread pool: on the other core for wall time, counted in CPU time).
 *
 * Rounds alternate A/B; the median round is reported. Each round is timed twice: wall time, and CPU time of
 * the process (`process.cpuUsage()`, all threads: GC helpers and the thread pool included). On a shared
 * machine wall time also counts other processes' use of the cores; CPU time does not, so it is the steadier
 * of the two when someone else runs something (both are printed; the overhead is the difference of the
 * medians of one run).
 *
 *   npx tsx bench/sdk-middleware.ts [--requests 20000] [--rounds 7] [--only fastify|express|record] [--gzip]
 */
import { parseArgs } from 'node:util'
import express from 'express'
import Fastify from 'fastify'
import { inject } from 'light-my-request'
import { recordApiRequest, resolveApiRequestOptions } from '../sdk/node/src/api-request.js'
import { Tally, tallyExpress, tallyFastify } from '../sdk/node/src/index.js'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '7' },
    only: { type: 'string' },
    gzip: { type: 'boolean', default: false },
  },
})
const REQUESTS = Number(values.requests)
const ROUNDS = Number(values.rounds)

const answer = JSON.stringify({ accepted: 0, duplicates: 0, rejected: 0, dropped: 0, results: [] })
const fakeFetch = (async () => new Response(answer, { status: 200 })) as typeof fetch
const newTally = () =>
  new Tally({
    host: 'http://127.0.0.1:1',
    writeKey: 'tly_w_bench',
    fetch: fakeFetch,
    ...(values.gzip ? {} : { gzipAbove: 0 }),
  })

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

/** Mean µs per request over one round: [wall, CPU]. */
async function round(call: (url: string) => Promise<unknown>): Promise<[number, number]> {
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  for (let i = 0; i < REQUESTS; i++) {
    await call(`/users/${i}`)
    // Injected requests resolve through microtasks only; let the event loop turn as a real server's does.
    if (i % 100 === 99) await new Promise(setImmediate)
  }
  const wall = Number(process.hrtime.bigint() - start) / 1e3 / REQUESTS
  const used = process.cpuUsage(cpu)
  return [wall, (used.user + used.system) / REQUESTS]
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
  const a: [number, number][] = []
  const b: [number, number][] = []
  for (let r = 0; r < ROUNDS; r++) {
    a.push(await round(without))
    b.push(await round(withSdk))
  }
  for (const [i, unit] of [
    [0, 'wall'],
    [1, 'cpu '],
  ] as const) {
    const base = median(a.map((x) => x[i]))
    const sdk = median(b.map((x) => x[i]))
    console.log(
      `${name.padEnd(27)} ${unit} without ${base.toFixed(2)} µs/req  with ${sdk.toFixed(2)} µs/req  overhead ${(sdk - base).toFixed(2)} µs (ratio ${(sdk / base).toFixed(3)})`,
    )
  }
}

async function recordOnly() {
  const tally = newTally()
  const o = resolveApiRequestOptions(tally)
  const chunk = 1000
  const chunks = (REQUESTS * 10) / chunk
  let recordNs = 0n
  let totalNs = 0n
  for (let c = 0; c < chunks; c++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < chunk; i++)
      recordApiRequest(o, {}, 'GET', '/users/:id', '/users/1', 200, 1.25, undefined, '12', undefined)
    const recorded = process.hrtime.bigint()
    await tally.flush()
    recordNs += recorded - start
    totalNs += process.hrtime.bigint() - start
  }
  const per = (ns: bigint) => (Number(ns) / 1e3 / (chunks * chunk)).toFixed(2)
  console.log(
    `${'record'.padEnd(27)} recordApiRequest (request path) ${per(recordNs)} µs/call; with formatting and sending the batches ${per(totalNs)} µs/event`,
  )
  await tally.close()
}

const only = values.only
console.log(
  `api_request middleware overhead, ${REQUESTS} requests x ${ROUNDS} rounds (median round)${values.gzip ? ', gzip on' : ''}`,
)
if (!only || only === 'fastify') await compare('fastify', fastifyApp)
if (!only || only === 'express') {
  await compare('express', async (w) => expressApp(w))
  // Express pays for every middleware layer it walks; this baseline has one that only calls next().
  await compare(
    'express vs empty middleware',
    async (w) => expressApp(w),
    async () => expressApp(false, true),
  )
}
if (!only || only === 'record') await recordOnly()
