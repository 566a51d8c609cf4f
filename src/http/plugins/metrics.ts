import type { FastifyInstance } from 'fastify'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { BatchResult } from '../../schema/batch.js'

/** The Prometheus metrics one server exposes on /metrics. One registry per server (tests build many). */
export interface ServerMetrics {
  readonly registry: Registry
  /** Counts one ingest call's outcomes, and each rejected event's issue codes. */
  recordBatch(result: BatchResult): void
  /** Records one answered request. */
  observeRequest(method: string, route: string, statusCode: number, seconds: number): void
}

/**
 * Creates the registry: events by outcome, rejected events by issue code, request latency by route, and
 * the write-queue depth read from `queueDepth` at scrape time.
 */
export function createServerMetrics(
  options: { queueDepth?: () => number; defaultMetrics?: boolean } = {},
): ServerMetrics {
  const registry = new Registry()
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry })
  const events = new Counter({
    name: 'tally_events_total',
    help: 'Events received over HTTP, by outcome (accepted, duplicate, rejected, dropped).',
    labelNames: ['status'] as const,
    registers: [registry],
  })
  const rejections = new Counter({
    name: 'tally_event_issues_total',
    help: 'Issues of rejected events, by issue code.',
    labelNames: ['code'] as const,
    registers: [registry],
  })
  const queueDepth = options.queueDepth
  new Gauge({
    name: 'tally_ingest_queue_depth',
    help: 'Events waiting in the write queue.',
    registers: [registry],
    collect() {
      this.set(queueDepth ? queueDepth() : 0)
    },
  })
  const duration = new Histogram({
    name: 'tally_http_request_duration_seconds',
    help: 'HTTP request latency, by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  return {
    registry,
    recordBatch(result) {
      if (result.accepted) events.inc({ status: 'accepted' }, result.accepted)
      if (result.duplicates) events.inc({ status: 'duplicate' }, result.duplicates)
      if (result.rejected) events.inc({ status: 'rejected' }, result.rejected)
      if (result.dropped) events.inc({ status: 'dropped' }, result.dropped)
      if (result.rejected) {
        for (const r of result.results) {
          if (r.status !== 'rejected' || !r.errors) continue
          for (const code of new Set(r.errors.map((e) => e.code))) rejections.inc({ code })
        }
      }
    },
    observeRequest(method, route, statusCode, seconds) {
      duration.observe({ method, route, status_code: String(statusCode) }, seconds)
    },
  }
}

/** Adds the latency hook to `app` (the root, so every route is timed) and the /metrics route. */
export function registerMetrics(app: FastifyInstance, metrics: ServerMetrics): void {
  app.addHook('onResponse', async function timeRequest(request, reply) {
    // The route template, never the raw URL: label values must stay few.
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000)
  })
  app.get(
    '/metrics',
    { schema: { hide: true }, config: { rateLimit: false } } as never,
    async function getMetrics(_request, reply) {
      reply.type(metrics.registry.contentType)
      return metrics.registry.metrics()
    },
  )
}
