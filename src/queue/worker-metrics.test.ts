import { afterEach, describe, expect, it } from 'vitest'
import { createWorkerMetrics, serveWorkerMetrics } from './worker-metrics.js'
import { emptyWriterStats, type WriterStats } from './writer-worker.js'

describe('worker metrics', () => {
  const closers: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const close of closers.splice(0)) await close()
  })

  it('should expose the worker counters as they are at scrape time, with the batches in hand', async () => {
    const stats: WriterStats = {
      batches: 3,
      events: 2500,
      failed: 4,
      duplicates: 10,
      redelivered: 1,
      poison: 2,
      writeErrors: 1,
    }
    const source = { stats, batchesInHand: 1 }
    const server = await serveWorkerMetrics(createWorkerMetrics(source), { host: '127.0.0.1', port: 0 })
    closers.push(server.close)

    const first = await (await fetch(`${server.url}/metrics`)).text()
    expect(first).toMatch(/^tally_worker_events_total 2500$/m)
    expect(first).toMatch(/^tally_worker_batches_in_hand 1$/m)
    expect(first).toMatch(/^tally_worker_poison_messages_total 2$/m)
    expect(first).toMatch(/^process_cpu_user_seconds_total /m)

    stats.events = 4000
    stats.batches = 5
    source.batchesInHand = 0
    const second = await (await fetch(`${server.url}/metrics`)).text()
    expect(second).toMatch(/^tally_worker_events_total 4000$/m)
    expect(second).toMatch(/^tally_worker_batches_total 5$/m)
    expect(second).toMatch(/^tally_worker_batches_in_hand 0$/m)
  })

  it('should report the consumer backlog asked at scrape time, and no sample (never a stale figure) when NATS cannot answer', async () => {
    let answer: () => Promise<{ pending: number; unacknowledged: number }> = async () => ({
      pending: 5000,
      unacknowledged: 200,
    })
    const source = { stats: emptyWriterStats(), batchesInHand: 0, backlog: () => answer() }
    const registry = createWorkerMetrics(source)
    const first = await registry.metrics()
    expect(first).toMatch(/^tally_worker_consumer_messages\{state="pending"\} 5000$/m)
    expect(first).toMatch(/^tally_worker_consumer_messages\{state="unacknowledged"\} 200$/m)
    answer = () => Promise.reject(new Error('TIMEOUT'))
    const second = await registry.metrics()
    expect(second).not.toMatch(/^tally_worker_consumer_messages\{/m)
  })

  it('should answer /healthz and a JSON 404 elsewhere', async () => {
    const stats = emptyWriterStats()
    const server = await serveWorkerMetrics(createWorkerMetrics({ stats, batchesInHand: 0 }), {
      host: '127.0.0.1',
      port: 0,
    })
    closers.push(server.close)
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' })
    const missing = await fetch(`${server.url}/api/v1/events`)
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found')
  })
})
