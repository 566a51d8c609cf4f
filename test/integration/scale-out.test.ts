import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp, type TallyApp } from '../../src/app/create-app.js'
import { loadConfig } from '../../src/config/config.js'
import type { QueueSettings } from '../../src/queue/queue-settings.js'
import { WriterWorker } from '../../src/queue/writer-worker.js'
import { createStore } from '../../src/store/create-store.js'
import type { EventStore } from '../../src/store/event-store.js'
import { createFreshPostgresDatabase, type FreshDatabase, isPostgresReachable } from '../helpers/dialects.js'
import { findNatsServer, IN_CI_NATS, type NatsCluster, startNatsCluster } from '../helpers/nats-cluster.js'
import {
  countEvents,
  createTestStream,
  startTallyChild,
  storedMessageIds,
  type TallyChild,
  WRITE_KEY,
  waitFor,
} from '../helpers/scale-out.js'

const natsServer = findNatsServer()
const pgUp = await isPostgresReachable()
// In CI a missing nats-server or PostgreSQL fails the suite (the first test below), never skips it.
const runnable = (natsServer !== undefined && pgUp) || IN_CI_NATS
/** Long version: TALLY_SCALE_OUT_LONG=1 runs each load phase for longer with more events. */
const LONG = process.env.TALLY_SCALE_OUT_LONG === '1'

function track(messageId: string, i: number) {
  return {
    type: 'track',
    name: 'Scale Out',
    messageId,
    userId: `u${i % 97}`,
    timestamp: new Date().toISOString(),
    properties: { i },
  }
}

async function post(baseUrl: string, events: unknown[]): Promise<Response> {
  return fetch(`${baseUrl}/api/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${WRITE_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
    signal: AbortSignal.timeout(15_000),
  })
}

function nodeConfig(db: FreshDatabase, queueUrl: string, stream: string) {
  return loadConfig({
    TALLY_DATABASE_URL: db.url,
    TALLY_QUEUE_URL: queueUrl,
    TALLY_QUEUE_STREAM: stream,
    TALLY_PORT: '0',
    TALLY_WRITE_KEY: WRITE_KEY,
    TALLY_LOG_LEVEL: 'silent',
    TALLY_RATE_LIMIT_MAX: '0',
    TALLY_DOCS: 'false',
  })
}

describe.runIf(runnable)(
  'scale-out: ingest nodes → NATS JetStream (3 nodes, R3) → workers → PostgreSQL',
  () => {
    let cluster: NatsCluster
    const databases: FreshDatabase[] = []

    async function freshDatabase(): Promise<FreshDatabase> {
      const db = await createFreshPostgresDatabase()
      databases.push(db)
      const store = await createStore(db.url)
      await store.migrate()
      await store.close()
      return db
    }

    beforeAll(async () => {
      if (natsServer === undefined)
        throw new Error('nats-server is not installed (CI=true: apt-get install nats-server)')
      if (!pgUp) throw new Error('PostgreSQL is not reachable (CI=true)')
      cluster = await startNatsCluster(3)
    }, 30_000)

    afterAll(async () => {
      await cluster?.stop()
      for (const db of databases) await db.drop().catch(() => {})
    })

    it('should store every event acknowledged by either ingest node exactly once, failed ones included', async () => {
      const db = await freshDatabase()
      const settings = await createTestStream(cluster.clientUrls as string[])
      const apps: TallyApp[] = []
      const workers: WriterWorker[] = []
      const stores: EventStore[] = []
      try {
        for (let i = 0; i < 2; i++) {
          const app = await createApp(nodeConfig(db, cluster.url, settings.stream), {
            queue: { subjectPrefix: settings.subjectPrefix },
          })
          apps.push(app)
        }
        const urls = await Promise.all(apps.map((a) => a.listen()))
        for (let i = 0; i < 2; i++) {
          const store = await createStore(db.url)
          stores.push(store)
          workers.push(await WriterWorker.start({ settings, store, onError: (e, w) => console.error(w, e) }))
        }
        const tag = randomBytes(4).toString('hex')
        const batches = LONG ? 200 : 40
        const acknowledged = new Set<string>()
        let duplicates = 0
        await Promise.all(
          Array.from({ length: batches }, async (_, b) => {
            const events = Array.from({ length: 25 }, (_, k) => track(`${tag}-${b}-${k}`, k))
            // Every batch goes to one node and is retried on the other: the stream drops the republish.
            const first = await post(urls[b % 2], events)
            expect(first.status).toBe(200)
            const body = (await first.json()) as { accepted: number }
            expect(body, JSON.stringify(body).slice(0, 400)).toMatchObject({ accepted: 25 })
            for (const e of events) acknowledged.add(e.messageId)
            const again = (await (await post(urls[(b + 1) % 2], events)).json()) as { duplicates: number }
            duplicates += again.duplicates
          }),
        )
        expect(duplicates).toBe(batches * 25)
        const bad = await post(urls[0], [{ type: 'track' }, { type: 'nope', messageId: 'x' }])
        expect(((await bad.json()) as { rejected: number }).rejected).toBe(2)

        const done = await waitFor(async () => {
          const c = await countEvents(db.url)
          return c.rows >= acknowledged.size && c.failed >= 2
        }, 30_000)
        expect(done).toBe(true)
        const counts = await countEvents(db.url)
        expect(counts).toEqual({ rows: acknowledged.size, distinct: acknowledged.size, failed: 2 })
        expect(new Set(await storedMessageIds(db.url))).toEqual(acknowledged)
        expect(workers.every((w) => w.stats.batches > 0)).toBe(true) // both workers shared the consumer
      } finally {
        await Promise.all(apps.map((a) => a.close()))
        await Promise.all(workers.map((w) => w.stop()))
        await Promise.all(stores.map((s) => s.close()))
      }
    }, 60_000)
  },
)
