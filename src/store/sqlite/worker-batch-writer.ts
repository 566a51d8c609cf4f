import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { AppError } from '../../errors/app-error.js'
import type { AnalyticsEvent } from '../../schema/analytics-event.js'
import type { StoreDialect } from '../dialect.js'
import { encodeBatch } from '../event-rows.js'
import type { InsertOutcome, NewFailedEvent } from '../event-store.js'
import type { WorkerReply, WorkerRequest, WriteWorkerData } from './write-worker-protocol.js'

/** Writes group commits somewhere other than the caller's thread. */
export interface BatchWriter {
  insertBatch(events: readonly AnalyticsEvent[], failed: readonly NewFailedEvent[]): Promise<InsertOutcome[]>
  /** Answers every write already posted, then stops. Safe to call twice. */
  close(): Promise<void>
}

interface Pending {
  events: readonly AnalyticsEvent[]
  resolve: (outcomes: InsertOutcome[]) => void
  reject: (err: unknown) => void
}

const unavailable = (message: string, cause?: unknown) =>
  new AppError('store_unavailable', message, { cause, retryAfterSeconds: 2 })

/**
 * Runs `insertBatch` in a worker thread that owns its own better-sqlite3 connection to the same file, so
 * the commit (WAL write + fsync), the row inserts and the rollups use the second core while the main
 * thread parses, validates and enriches the next requests.
 *
 * - A write resolves only after the worker's transaction committed ("accepted" still means durable).
 * - Errors come back as the store's AppErrors (`store_unavailable` with Retry-After, or `internal`); if
 *   the worker dies, every write in flight fails with `store_unavailable` and the next write starts a new
 *   worker.
 * - `close()` waits for the writes already posted, closes the worker's connection and ends the thread.
 *
 * The worker loads `sqlite-write-worker.js` next to this file; when running from TypeScript sources
 * (tsx, Vitest) it is started with `--import tsx`.
 *
 * @example
 * const writer = new WorkerBatchWriter({ url: 'sqlite:./data/tally.db', rollups: true }, sqliteDialect)
 * const outcomes = await writer.insertBatch(events, [])
 * await writer.close()
 */
export class WorkerBatchWriter implements BatchWriter {
  readonly #data: WriteWorkerData
  readonly #dialect: StoreDialect
  #worker: Worker | undefined
  #pending = new Map<number, Pending>()
  #nextId = 1
  #closing: Promise<void> | undefined

  /** `dialect` encodes the rows as the worker's store would (the same SQLite dialect, on this thread). */
  constructor(data: WriteWorkerData, dialect: StoreDialect) {
    this.#data = { ...data }
    this.#dialect = dialect
  }

  insertBatch(
    events: readonly AnalyticsEvent[],
    failed: readonly NewFailedEvent[],
  ): Promise<InsertOutcome[]> {
    if (this.#closing) return Promise.reject(unavailable('The store is closed'))
    if (events.length === 0 && failed.length === 0) return Promise.resolve([])
    let message: WorkerRequest
    try {
      // Encoded here, once: the JSON columns are serialised on this thread, and the worker binds the values.
      message = { type: 'insert', id: this.#nextId++, batch: encodeBatch(this.#dialect, events, failed) }
    } catch (cause) {
      return Promise.reject(new AppError('internal', 'Cannot encode the group commit', { cause }))
    }
    const worker = this.#start()
    return new Promise<InsertOutcome[]>((resolve, reject) => {
      this.#pending.set(message.id, { events, resolve, reject })
      worker.ref() // keep the process alive while a write is unanswered
      worker.postMessage(message)
    })
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const worker = this.#worker
      if (!worker) return
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
      worker.ref()
      worker.postMessage({ type: 'close' } satisfies WorkerRequest)
      await exited
    })()
    return this.#closing
  }

  #start(): Worker {
    if (this.#worker) return this.#worker
    const worker = spawnWorker(this.#data)
    worker.unref()
    worker.on('message', (reply: WorkerReply) => this.#onReply(worker, reply))
    worker.on('error', (err) => this.#fail(worker, unavailable('The SQLite write worker failed', err)))
    worker.on('exit', (code) => this.#fail(worker, unavailable(`The SQLite write worker exited (${code})`)))
    this.#worker = worker
    return worker
  }

  #onReply(worker: Worker, reply: WorkerReply): void {
    if (reply.type === 'fatal') {
      this.#fail(worker, unavailable(`The SQLite write worker cannot open the store: ${reply.message}`))
      void worker.terminate()
      return
    }
    if (reply.type !== 'result' && reply.type !== 'error') return
    const pending = this.#pending.get(reply.id)
    if (!pending) return
    this.#pending.delete(reply.id)
    if (this.#pending.size === 0) worker.unref()
    if (reply.type === 'error') {
      pending.reject(
        new AppError(reply.code, reply.message, {
          retryAfterSeconds: reply.retryAfterSeconds,
          cause: reply.cause === '' ? undefined : new Error(reply.cause),
        }),
      )
      return
    }
    const { events } = pending
    const outcomes: InsertOutcome[] = new Array(events.length)
    for (let i = 0; i < events.length; i++) {
      const code = reply.statuses.charCodeAt(i)
      outcomes[i] = {
        status: code === 97 ? 'accepted' : code === 120 ? 'dropped' : 'duplicate',
        id: reply.ids[i] ?? events[i].id,
      }
    }
    pending.resolve(outcomes)
  }

  /** The worker is gone: fail what it had not answered; the next write starts a new one. */
  #fail(worker: Worker, err: AppError): void {
    if (this.#worker !== worker) return
    this.#worker = undefined
    for (const p of this.#pending.values()) p.reject(err)
    this.#pending.clear()
  }
}

/**
 * Built code (dist/) starts `sqlite-write-worker.js` directly. From TypeScript sources (tsx, Vitest) a
 * worker does not inherit the main thread's loader, so a small bootstrap loads the entry through tsx's API.
 */
function spawnWorker(data: WriteWorkerData): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./sqlite-write-worker.js', import.meta.url), { workerData: data })
  }
  const entry = new URL('./sqlite-write-worker.ts', import.meta.url).href
  // The package's `import` entry (index.mjs) next to the `require` one that createRequire resolves.
  const tsxApi = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((api) => api.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)}))`
  return new Worker(bootstrap, { eval: true, workerData: data })
}
