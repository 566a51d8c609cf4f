import Fastify from 'fastify'
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'
import type { ConsumerBacklog } from './jetstream-setup.js'
import type { WriterStats } from './writer-worker.js'

/** What the metrics read from a running worker at scrape time. */
export interface WorkerMetricsSource {
  readonly stats: WriterStats
  readonly batchesInHand: number
  /** The shared consumer's backlog, asked at scrape time (rejects while NATS cannot answer). */
  backlog?(): Promise<ConsumerBacklog>
}

const COUNTERS: { name: string; help: string; stat: keyof WriterStats }[] = [
  {
    name: 'tally_worker_batches_total',
    help: 'Transactions committed (each acknowledged after).',
    stat: 'batches',
  },
  {
    name: 'tally_worker_events_total',
    help: 'Events written to the store (redelivered ones included).',
    stat: 'events',
  },
  {
    name: 'tally_worker_duplicate_events_total',
    help: 'Events the store already had (redeliveries, republishes).',
    stat: 'duplicates',
  },
  { name: 'tally_worker_failed_events_total', help: 'Failed events kept for replay.', stat: 'failed' },
  {
    name: 'tally_worker_redelivered_messages_total',
    help: 'Messages JetStream delivered more than once.',
    stat: 'redelivered',
  },
  {
    name: 'tally_worker_poison_messages_total',
    help: 'Messages that were not well-formed queued events, terminated.',
    stat: 'poison',
  },
  {
    name: 'tally_worker_write_errors_total',
    help: 'Failed transactions (their batch was nak-ed and comes back).',
    stat: 'writeErrors',
  },
]

/**
 * The Prometheus registry of a scale-out writer (`tally worker`): its counters, read from the worker's
 * stats at scrape time, the batches in hand, and the process's default metrics. An ingest node's own
 * /metrics cannot show these: the writes happen here.
 */
export function createWorkerMetrics(source: WorkerMetricsSource): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  for (const { name, help, stat } of COUNTERS) {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset()
        this.inc(source.stats[stat])
      },
    })
  }
  new Gauge({
    name: 'tally_worker_batches_in_hand',
    help: 'Batches fetched and not yet acknowledged.',
    registers: [registry],
    collect() {
      this.set(source.batchesInHand)
    },
  })
  if (source.backlog) {
    const backlog = () => (source as Required<WorkerMetricsSource>).backlog()
    new Gauge({
      name: 'tally_worker_consumer_messages',
      help: 'The shared consumer, from its leader: messages not handed to any worker yet (state="pending": the deployment lag) and handed out but not acknowledged (state="unacknowledged"). Absent while NATS cannot answer.',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        // One request to the consumer's leader per scrape; no sample, never a stale figure, when it fails.
        const now = await backlog().catch(() => null)
        this.reset()
        if (now === null) return
        this.set({ state: 'pending' }, now.pending)
        this.set({ state: 'unacknowledged' }, now.unacknowledged)
      },
    })
  }
  return registry
}

/**
 * Serves `GET /metrics` (Prometheus text) and `GET /healthz` for a worker on `host:port` (port 0: any free
 * port). Anything else is a 404 in Tally's error shape. Resolves once listening.
 */
export async function serveWorkerMetrics(
  registry: Registry,
  options: { host: string; port: number },
): Promise<{ url: string; close: () => Promise<void> }> {
  const app = Fastify({ logger: false })
  app.get('/metrics', async (_request, reply) => {
    reply.type(registry.contentType)
    return registry.metrics()
  })
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.setNotFoundHandler(async (request, reply) => {
    reply.code(404)
    return {
      error: { code: 'not_found', message: `No route ${request.method} ${request.url.split('?')[0]}` },
    }
  })
  const address = await app.listen({ host: options.host, port: options.port })
  return { url: address, close: () => app.close() }
}
