import type { FastifyInstance } from 'fastify'
import { AppError } from '../errors/app-error.js'

/** Servers `registerIngestOnly` turned into ingest-only nodes (their readiness is the queue's). */
const ingestOnlyServers = new WeakSet<FastifyInstance>()

/** Routes an ingest-only node keeps: ingest (native and Segment), health, metrics. */
const KEPT = [/^\/api\/v1\/events$/, /^\/v1\//, /^\/healthz$/, /^\/readyz$/, /^\/metrics$/]

/**
 * Turns every other route off on this node (query, stats, admin, docs, dashboard): they answer 404
 * `not_found`, so an ingest tier never runs database reads. `GET /api/v1/events` (a query) is off too; only
 * its POST (and CORS preflight) stays. Call before the server is ready.
 */
export function registerIngestOnly(server: FastifyInstance): void {
  ingestOnlyServers.add(server)
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
 *
 * On an ingest-only node (`registerIngestOnly`) readiness is the queue's alone: what it needs to accept
 * events is the stream, not the database (API keys it knows stay valid through a PostgreSQL outage, see
 * ApiKeyResolver), so `/readyz` answers 200 while NATS is reachable without pinging the database —
 * otherwise a database outage would take every ingest node out of the load balancer at once.
 */
export function registerQueueReadiness(server: FastifyInstance, isConnected: () => boolean): void {
  server.addHook('onRequest', async function queueReadiness(request, reply) {
    if (request.routeOptions.url !== '/readyz') return
    if (!isConnected()) {
      throw new AppError('store_unavailable', 'No NATS server of the queue is reachable', {
        retryAfterSeconds: 2,
      })
    }
    if (ingestOnlyServers.has(server)) {
      return reply.send({ status: 'ready', database: 'not checked (ingest-only node)', queue: 'connected' })
    }
  })
}
