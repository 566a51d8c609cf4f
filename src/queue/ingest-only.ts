import type { FastifyInstance } from 'fastify'
import { AppError } from '../errors/app-error.js'

/** Routes an ingest-only node keeps: ingest (native and Segment), health, metrics. */
const KEPT = [/^\/api\/v1\/events$/, /^\/v1\//, /^\/healthz$/, /^\/readyz$/, /^\/metrics$/]

/**
 * Turns every other route off on this node (query, stats, admin, docs, dashboard): they answer 404
 * `not_found`, so an ingest tier never runs database reads. `GET /api/v1/events` (a query) is off too; only
 * its POST (and CORS preflight) stays. Call before the server is ready.
 */
export function registerIngestOnly(server: FastifyInstance): void {
  server.addHook('onRequest', async function ingestOnly(request) {
    const url = request.routeOptions.url ?? request.url.split('?')[0]
    const kept = KEPT.some((re) => re.test(url))
    const isEventsQuery =
      url === '/api/v1/events' && request.method !== 'POST' && request.method !== 'OPTIONS'
    if (!kept || isEventsQuery) {
      throw new AppError(
        'not_found',
        'This is an ingest-only node; query and admin routes are served elsewhere',
      )
    }
  })
}

/**
 * Makes `/readyz` answer 503 `store_unavailable` while the node has no connection to any NATS server, so a
 * load balancer sends ingest elsewhere (the publish would time out anyway). Call before the server is ready.
 */
export function registerQueueReadiness(server: FastifyInstance, isConnected: () => boolean): void {
  server.addHook('onRequest', async function queueReadiness(request) {
    if (request.routeOptions.url !== '/readyz' || isConnected()) return
    throw new AppError('store_unavailable', 'No NATS server of the queue is reachable', {
      retryAfterSeconds: 2,
    })
  })
}
