/**
 * Worker-thread entry of the SQLite write worker (see `worker-batch-writer.ts`). It owns its own
 * better-sqlite3 connection (a `KyselyEventStore` on the same file, rollups on) and runs every group commit
 * the main thread posts, one at a time, answering only after the transaction committed.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { isAppError } from '../../errors/app-error.js'
import { createStore } from '../create-store.js'
import { ROW_ID } from '../event-rows.js'
import { toStoreError } from '../store-errors.js'
import type { WorkerReply, WorkerRequest, WriteWorkerData } from './write-worker-protocol.js'

const port = parentPort
if (!port) throw new Error('sqlite-write-worker must run in a worker thread')
const data = workerData as WriteWorkerData

const reply = (message: WorkerReply) => port.postMessage(message)

try {
  const store = await createStore(data.url, {
    busyTimeoutMs: data.busyTimeoutMs,
    synchronous: data.synchronous,
    rollupWriter: data.rollups ? undefined : null,
    deferRollups: data.deferRollups,
    rollupDelayMs: data.rollupDelayMs,
    writeWorker: false,
  })
  // Messages are handled strictly in order: a group commit starts only after the previous one answered.
  let chain: Promise<void> = Promise.resolve()
  port.on('message', (msg: WorkerRequest) => {
    chain = chain.then(() => handle(msg))
  })
  const handle = async (msg: WorkerRequest): Promise<void> => {
    if (msg.type === 'close') {
      await store.close()
      reply({ type: 'closed' })
      port.close()
      return
    }
    try {
      const events = msg.batch.events
      const outcomes = await store.insertEncodedBatch(msg.batch)
      // Compact answer: one status letter per event, ids only where they differ from the event's own.
      let statuses = ''
      const ids: (string | null)[] = []
      for (let i = 0; i < outcomes.length; i++) {
        const o = outcomes[i]
        statuses += o.status === 'accepted' ? 'a' : o.status === 'dropped' ? 'x' : 'd'
        ids.push(o.id === events[i][ROW_ID] ? null : o.id)
      }
      reply({ type: 'result', id: msg.id, statuses, ids })
    } catch (err) {
      const e = isAppError(err) ? err : toStoreError(err)
      reply({
        type: 'error',
        id: msg.id,
        code: e.code,
        message: e.message,
        retryAfterSeconds: e.retryAfterSeconds,
        cause: String((e.cause as Error | undefined)?.message ?? ''),
      })
    }
  }
  reply({ type: 'ready' })
} catch (err) {
  reply({ type: 'fatal', message: err instanceof Error ? err.message : String(err) })
  port.close()
}
