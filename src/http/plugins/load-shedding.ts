import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError } from '../../errors/app-error.js'

export interface LoadSheddingOptions {
  /** Requests handled at once before new ones are refused. */
  maxInFlight: number
  /** Event-loop delay (p99 over the last half second, ms) above which new requests are refused; 0 = off. */
  maxEventLoopDelayMs: number
}

const SAMPLE_MS = 500

/** How each counted request gives its slot back (once), by request. */
const releases = new WeakMap<FastifyRequest, () => void>()

/**
 * The request's work is done but for waiting on the ingest write queue: stop counting it against
 * `maxInFlight`. That queue has its own bound (`overloaded` beyond TALLY_MAX_QUEUED_EVENTS), and a request
 * parked there holds only its parsed events — while counting it refused clients for no gain: with 100
 * browsers sending single events the route answered 2,779 events/s and turned away 9,464 requests with 503
 * (64 in flight, nearly all of them waiting for a group commit that would have taken them all at once).
 * Safe to call for a request that was never counted, and more than once.
 */
export function releaseInFlightSlot(request: FastifyRequest): void {
  releases.get(request)?.()
}

/**
 * Sheds load before it costs more memory or latency, answering 503 `overloaded` + `Retry-After: 1` in
 * the preValidation hook — once the body has arrived, before it is validated or processed — when either
 * - `maxInFlight` requests are already being handled (queries waiting on the database pile up here;
 *   ingest requests stop counting once their events are queued for a group commit, which is bounded on
 *   its own — see releaseInFlightSlot), or
 * - the event loop is saturated: its delay p99 over the last 0.5 s exceeds `maxEventLoopDelayMs`. A
 *   CPU-bound server otherwise reads requests only as fast as it can process them, so the backlog waits in
 *   socket buffers unseen and every accepted request's latency grows with the number of clients.
 * The ingest queue limit (`overloaded` from the group commit) guards the database write queue on top.
 *
 * Why not earlier (onRequest, before the body): a request then held its slot while its body trickled
 * in, and 64 clients sending one byte of a 100-byte body — no key needed on the Segment routes, which
 * authenticate after the body — kept every API route answering 503 for the request timeout (30 s), again
 * and again. A body still arriving costs a socket and its buffer, bounded by the body limit and the request
 * timeout; per-client connection limits belong to the reverse proxy (docs/api.md). Being after onRequest,
 * the 503 also carries the CORS headers (a browser could not read it) and preflights are never shed.
 *
 * Register it on the scope holding the API routes (health checks and metrics stay outside).
 */
export function registerLoadShedding(scope: FastifyInstance, options: LoadSheddingOptions): void {
  let inFlight = 0
  let saturated = false
  if (options.maxEventLoopDelayMs > 0) {
    const histogram = monitorEventLoopDelay({ resolution: 10 })
    histogram.enable()
    const timer = setInterval(() => {
      saturated = histogram.percentile(99) / 1e6 > options.maxEventLoopDelayMs
      histogram.reset()
    }, SAMPLE_MS)
    timer.unref()
    scope.addHook('onClose', async () => {
      clearInterval(timer)
      histogram.disable()
    })
  }
  scope.addHook('preValidation', async function shedLoad(request, reply) {
    if (inFlight >= options.maxInFlight) {
      throw new AppError(
        'overloaded',
        `More than ${options.maxInFlight} requests in progress; retry shortly`,
        {
          retryAfterSeconds: 1,
        },
      )
    }
    if (saturated) {
      throw new AppError('overloaded', 'The server is saturated; retry shortly', { retryAfterSeconds: 1 })
    }
    inFlight++
    let counted = true
    const release = () => {
      if (!counted) return
      counted = false
      inFlight--
    }
    releases.set(request, release)
    // 'close' fires once per response, whether it finished or the client went away.
    reply.raw.once('close', release)
  })
}
