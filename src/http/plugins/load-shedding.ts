import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'
import { AppError } from '../../errors/app-error.js'

export interface LoadSheddingOptions {
  /** Requests handled at once before new ones are refused. */
  maxInFlight: number
  /** Event-loop delay (p99 over the last half second, ms) above which new requests are refused; 0 = off. */
  maxEventLoopDelayMs: number
}

const SAMPLE_MS = 500

/**
 * Sheds load before it costs more memory or latency, answering 503 `overloaded` + `Retry-After: 1` in
 * the preValidation hook — once the body has arrived, before it is validated or processed — when either
 * - `maxInFlight` requests are already being handled (requests waiting on the database pile up here), or
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
  scope.addHook('preValidation', async function shedLoad(_request, reply) {
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
    // 'close' fires once per response, whether it finished or the client went away.
    reply.raw.once('close', () => {
      inFlight--
    })
  })
}
