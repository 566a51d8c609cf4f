import { AppError } from '../errors/app-error.js'

/**
 * Coalesces concurrent writes into few transactions ("group commit").
 *
 * Why: a transaction (and its fsync) per HTTP request caps SQLite at ~13k events/s on this machine, while
 * commits of ~1,000 rows reach 68k/s (MEASUREMENTS.md). Callers `submit()` a unit of work (one request's
 * events); the queue hands whole units to `write()` in groups of at most `maxGroupItems` items and
 * resolves each caller only after the write that held its unit committed. A unit is never split.
 *
 * When to write: as in a database's group commit, a unit that finds no write in flight is written on the
 * next turn of the event loop (`setImmediate`, so every request parsed in the same I/O phase joins it) —
 * a lone event never waits for a timer. Units that arrive while a write is in flight queue up and form the
 * next group as soon as it finishes; the busier the store, the larger the groups. `maxWaitMs > 0` adds a
 * deliberate wait instead, for callers that prefer fewer, larger transactions to latency.
 *
 * Bounded: when more than `maxQueuedItems` items wait, `submit()` throws AppError('overloaded') at once —
 * the caller (HTTP) answers 503 + Retry-After instead of the queue growing without bound.
 */
export interface GroupCommitOptions<U, R> {
  /** Writes the units in one transaction; returns one result per unit, in order. */
  write: (units: U[]) => Promise<R[]>
  /** How many items a unit holds (events in a request). */
  sizeOf: (unit: U) => number
  /** Largest group written at once, in items. Default 1,000. */
  maxGroupItems?: number
  /** Extra wait for others to join a group when no write is in flight. Default 0 (next event-loop turn). */
  maxWaitMs?: number
  /** Most items waiting (not yet being written) before submit() refuses. Default 50,000. */
  maxQueuedItems?: number
  /** A unit's weight in bytes, for `maxQueuedBytes`. Default: 0 (unbounded by bytes). */
  bytesOf?: (unit: U) => number
  /**
   * Most bytes waiting before submit() refuses: items alone let 50,000 events of 32 KB wait (1.6 GB) once
   * requests parked on their commit no longer count against the server's in-flight limit. Default: none.
   */
  maxQueuedBytes?: number
  /** Writes in flight at once (1 for SQLite's single writer). Default 1. */
  concurrency?: number
  /**
   * With a write already in flight, start another one only when at least this many items wait. Default 0.
   * Without it the free slot fills with tiny groups (a request or two) that each pay a whole transaction:
   * measured on PostgreSQL with concurrency 4, single-event throughput fell 2–3x.
   */
  minConcurrentItems?: number
  /** Maps a write failure to the error each caller of the failed group receives. */
  mapError?: (err: unknown) => unknown
  /**
   * Whether a write's (mapped) error means the store cannot be written now, so the units queued behind it
   * are answered with the same error at once instead of each group waiting out the same lock or timeout
   * in turn: with another process holding SQLite's write lock, requests waited 10–15 s for their 503, two
   * or three busy timeouts of 5 s. Default: never.
   */
  failsQueued?: (mappedError: unknown) => boolean
}

interface Pending<U, R> {
  unit: U
  size: number
  bytes: number
  resolve: (r: R) => void
  reject: (e: unknown) => void
}

export class GroupCommitQueue<U, R> {
  readonly #write: (units: U[]) => Promise<R[]>
  readonly #sizeOf: (unit: U) => number
  readonly #maxGroupItems: number
  readonly #maxWaitMs: number
  readonly #maxQueuedItems: number
  readonly #bytesOf: (unit: U) => number
  readonly #maxQueuedBytes: number
  #queuedBytes = 0
  readonly #concurrency: number
  readonly #minConcurrentItems: number
  readonly #mapError: (err: unknown) => unknown
  readonly #failsQueued: (mappedError: unknown) => boolean
  #queue: Pending<U, R>[] = []
  #queuedItems = 0
  #inFlight = 0
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined
  #closed = false
  #idleWaiters: (() => void)[] = []

  constructor(options: GroupCommitOptions<U, R>) {
    this.#write = options.write
    this.#sizeOf = options.sizeOf
    this.#maxGroupItems = options.maxGroupItems ?? 1000
    this.#maxWaitMs = options.maxWaitMs ?? 0
    this.#maxQueuedItems = options.maxQueuedItems ?? 50_000
    this.#bytesOf = options.bytesOf ?? (() => 0)
    this.#maxQueuedBytes = options.maxQueuedBytes ?? Number.POSITIVE_INFINITY
    this.#concurrency = options.concurrency ?? 1
    this.#minConcurrentItems = options.minConcurrentItems ?? 0
    this.#mapError = options.mapError ?? ((e) => e)
    this.#failsQueued = options.failsQueued ?? (() => false)
  }

  /** Items waiting to be written (not counting writes in flight). */
  get depth(): number {
    return this.#queuedItems
  }

  /** Resolves with the unit's result once it is committed; rejects if its write failed. */
  submit(unit: U): Promise<R> {
    if (this.#closed) {
      return Promise.reject(
        new AppError('overloaded', 'The server is shutting down', { retryAfterSeconds: 5 }),
      )
    }
    const size = this.#sizeOf(unit)
    const bytes = this.#bytesOf(unit)
    const overItems = this.#queuedItems + size > this.#maxQueuedItems
    const overBytes = this.#queuedBytes + bytes > this.#maxQueuedBytes
    if ((overItems || overBytes) && this.#queuedItems > 0) {
      const seconds = Math.max(1, Math.ceil(this.#queuedItems / 20_000))
      return Promise.reject(new AppError('overloaded', undefined, { retryAfterSeconds: seconds }))
    }
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ unit, size, bytes, resolve, reject })
      this.#queuedItems += size
      this.#queuedBytes += bytes
      this.#schedule()
    })
  }

  /** Stops accepting new units and resolves when everything accepted so far is written. */
  async close(): Promise<void> {
    this.#closed = true
    await this.drain()
  }

  /** Resolves when the queue is empty and no write is in flight. */
  drain(): Promise<void> {
    if (this.#queue.length === 0 && this.#inFlight === 0) return Promise.resolve()
    if (this.#queue.length > 0) this.#flushNow()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  #schedule(): void {
    if (this.#queuedItems >= this.#maxGroupItems) {
      this.#flushNow()
    } else if (this.#timer === undefined && this.#mayStartWrite()) {
      // With a write in flight there is nothing to schedule: its completion writes the queue.
      const fire = () => {
        this.#timer = undefined
        this.#flushNow()
      }
      this.#timer = this.#maxWaitMs > 0 ? setTimeout(fire, this.#maxWaitMs) : setImmediate(fire)
    }
  }

  #flushNow(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer as NodeJS.Timeout)
      clearImmediate(this.#timer as NodeJS.Immediate)
      this.#timer = undefined
    }
    while (this.#queue.length > 0 && this.#mayStartWrite()) {
      void this.#writeGroup(this.#takeGroup())
    }
  }

  #mayStartWrite(): boolean {
    if (this.#inFlight === 0) return true
    return this.#inFlight < this.#concurrency && this.#queuedItems >= this.#minConcurrentItems
  }

  #takeGroup(): Pending<U, R>[] {
    const group: Pending<U, R>[] = []
    let items = 0
    let bytes = 0
    while (this.#queue.length > 0) {
      const next = this.#queue[0]
      if (group.length > 0 && items + next.size > this.#maxGroupItems) break
      group.push(next)
      items += next.size
      bytes += next.bytes
      this.#queue.shift()
    }
    this.#queuedItems -= items
    this.#queuedBytes -= bytes
    return group
  }

  async #writeGroup(group: Pending<U, R>[]): Promise<void> {
    this.#inFlight++
    try {
      const results = await this.#write(group.map((p) => p.unit))
      for (const [i, p] of group.entries()) p.resolve(results[i])
    } catch (err) {
      const mapped = this.#mapError(err)
      for (const p of group) p.reject(mapped)
      if (this.#failsQueued(mapped)) {
        const queued = this.#queue.splice(0)
        this.#queuedItems = 0
        this.#queuedBytes = 0
        for (const p of queued) p.reject(mapped)
      }
    } finally {
      this.#inFlight--
      if (this.#queue.length > 0) {
        // Whatever arrived while we were writing has waited long enough: write it now.
        this.#flushNow()
      } else if (this.#inFlight === 0) {
        for (const wake of this.#idleWaiters.splice(0)) wake()
      }
    }
  }
}
