import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { isoTime } from './clock.js'
import { LIBRARY, PendingBatch, type RareParts, SDK_VERSION } from './pending.js'
import { sendBatch } from './transport.js'
import { type EventCreate, type Message, TallySdkError } from './types.js'

export { SDK_VERSION }

/** The server refuses bodies over 500 KB (UTF-8, after decompression); batches are cut well below that. */
const MAX_BATCH_BYTES = 400 * 1024

/**
 * The middlewares' fast path: `[RECORD_API_REQUEST](…)` queues an api_request event as a row of numbers
 * (see PendingBatch.addApiRequest), or returns false when the client is closed or full — then the caller
 * takes the object path (`apiRequest()`), which reports it. Not part of the public API.
 * @internal
 */
export const RECORD_API_REQUEST: unique symbol = Symbol('tally.recordApiRequest')

/** The middlewares report their own problems (an `identify` that threw) to `onError`. @internal */
export const REPORT_ERROR: unique symbol = Symbol('tally.reportError')

/**
 * Options of `new Tally()`. Only `host` and `writeKey` are required.
 *
 * @example
 * const tally = new Tally({ host: 'https://tally.example.com', writeKey: process.env.TALLY_WRITE_KEY! })
 */
export interface TallyOptions {
  /** Base URL of the Tally server, e.g. `https://tally.example.com`. */
  host: string
  /** A write key of the project (`tly_w_…`). */
  writeKey: string
  /**
   * Send a batch once it holds this many events. Default 500: each request (and the server's answer) has a
   * fixed cost, and a batch of 500 api_request events is ~170 KB (batches are also cut at 400 KB).
   */
  flushAt?: number
  /** Send queued events at least this often, ms. Default 5,000. */
  flushInterval?: number
  /** Most events held in memory; further events are dropped with `queue_full`. Default 10,000. */
  maxQueueSize?: number
  /** Retries after the first attempt of a batch. Default 5. */
  maxRetries?: number
  /** First backoff ceiling, ms (doubles per retry, full jitter). Default 500. */
  retryBaseDelayMs?: number
  /** Largest backoff, ms. Default 30,000. */
  retryMaxDelayMs?: number
  /** Per-request timeout, ms. Default 10,000. */
  timeoutMs?: number
  /** Gzip request bodies larger than this many bytes; 0 = never. Default 1,024. */
  gzipAbove?: number
  /**
   * Longest `close()` may take, ms: past it, what is not delivered is given up (`delivery_failed`, with the
   * events). Default 10,000 — within a container's shutdown grace (Kubernetes: 30 s). Without it, a server
   * that accepted connections but never answered held `close()` for minutes (6 attempts × `timeoutMs` plus
   * backoff, per batch), and the platform killed the process anyway.
   */
  closeTimeoutMs?: number
  /** Called for every problem (never thrown). Default: `console.warn` once per code. */
  onError?: (error: TallySdkError) => void
  /** Replaces the global `fetch` (tests, proxies). */
  fetch?: typeof fetch
}

/**
 * The Node SDK: queue events in memory and send them to Tally in batches; `flush()` sends what is queued,
 * `close()` stops accepting events and delivers the rest.
 *
 * @example
 * const tally = new Tally({ host: 'http://localhost:3000', writeKey: 'tly_w_…' })
 * tally.track({ userId: 'u1', name: 'Order Completed', properties: { total: 42 } })
 * await tally.close()
 */
export class Tally {
  readonly #options: Required<Omit<TallyOptions, 'onError' | 'fetch'>>
  readonly #onError: (error: TallySdkError) => void
  readonly #fetch: typeof fetch
  readonly #endpoint: string
  /** The batch events are added to; sealed (moved to `#batches`) at flushAt events or MAX_BATCH_BYTES. */
  #open: PendingBatch | undefined
  /** Sealed batches waiting to be sent, oldest first. */
  #batches: PendingBatch[] = []
  /** Events in `#open` and `#batches`. */
  #queued = 0
  #timer: NodeJS.Timeout | undefined
  #draining: Promise<void> = Promise.resolve()
  /** A drain is queued or running; it sends until the queue is empty, so one is enough. */
  #drainPending = false
  #closed = false
  /** Epoch ms by which `close()` gives up on delivery (set by close()). */
  #deadline = Number.POSITIVE_INFINITY
  #overflowReported = false

  constructor(options: TallyOptions) {
    if (
      !options ||
      typeof options.host !== 'string' ||
      typeof options.writeKey !== 'string' ||
      !options.writeKey
    ) {
      throw new TypeError('new Tally({ host, writeKey }): both are required strings')
    }
    this.#options = {
      host: options.host.replace(/\/+$/, ''),
      writeKey: options.writeKey,
      flushAt: Math.max(1, options.flushAt ?? 500),
      flushInterval: options.flushInterval ?? 5000,
      maxQueueSize: options.maxQueueSize ?? 10_000,
      maxRetries: options.maxRetries ?? 5,
      retryBaseDelayMs: options.retryBaseDelayMs ?? 500,
      retryMaxDelayMs: options.retryMaxDelayMs ?? 30_000,
      timeoutMs: options.timeoutMs ?? 10_000,
      gzipAbove: options.gzipAbove ?? 1024,
      closeTimeoutMs: options.closeTimeoutMs ?? 10_000,
    }
    this.#endpoint = `${this.#options.host}/api/v1/events`
    this.#fetch = options.fetch ?? globalThis.fetch
    this.#onError = options.onError ?? warnOncePerCode()
  }

  /** Events waiting to be sent. */
  get queueSize(): number {
    return this.#queued
  }

  /** A user action. */
  track(message: Message<'track'>): void {
    this.enqueue({ ...message, type: 'track' })
  }
  /** A page view (server-rendered pages). */
  page(message: Message<'page'>): void {
    this.enqueue({ ...message, type: 'page' })
  }
  /** A screen view. */
  screen(message: Message<'screen'>): void {
    this.enqueue({ ...message, type: 'screen' })
  }
  /** Who the user is. */
  identify(message: Message<'identify'>): void {
    this.enqueue({ ...message, type: 'identify' })
  }
  /** Puts the user in a group (account, team). */
  group(message: Message<'group'>): void {
    this.enqueue({ ...message, type: 'group' })
  }
  /** Merges `previousId` into `userId`. */
  alias(message: Message<'alias'>): void {
    this.enqueue({ ...message, type: 'alias' })
  }
  /** A measured timing or web vital. */
  performance(message: Message<'performance'>): void {
    this.enqueue({ ...message, type: 'performance' })
  }
  /** An interaction with an element. */
  interaction(message: Message<'interaction'>): void {
    this.enqueue({ ...message, type: 'interaction' })
  }
  /** A request your API served (the middlewares call this). */
  apiRequest(message: Message<'api_request'>): void {
    this.enqueue({ ...message, type: 'api_request' })
  }

  /**
   * Queues any event. Fills `messageId` (a UUID; the server stores a retried event once), `timestamp` and
   * `context.library`, and serialises it at once (later changes to the objects passed in are not sent).
   * Problems go to `onError`; this never throws.
   */
  enqueue(event: EventCreate): void {
    if (this.#closed) {
      this.#reportClosed(event)
      return
    }
    if (event.userId == null && (event.type === 'alias' || event.anonymousId == null)) {
      this.#onError(
        new TallySdkError('missing_identity', `A ${event.type} event needs userId or anonymousId`, {
          events: [event],
        }),
      )
      return
    }
    if (this.#queued >= this.#options.maxQueueSize) {
      this.#reportFull(event)
      return
    }
    let text: string
    try {
      text = JSON.stringify({
        ...event,
        messageId: event.messageId ?? randomUUID(),
        timestamp: event.timestamp ?? isoTime(),
        context: event.context?.library ? event.context : { ...event.context, library: LIBRARY },
      })
    } catch (err) {
      this.#onError(
        new TallySdkError('invalid_event', `The event cannot be serialised as JSON: ${String(err)}`, {
          events: [event],
        }),
      )
      return
    }
    const bytes = Buffer.byteLength(text)
    this.#batch(bytes + 1).addText(text, bytes)
    this.#commit()
  }

  /** Hands a middleware's problem to `onError` (which may throw: that goes nowhere). @internal */
  [REPORT_ERROR](error: TallySdkError): void {
    try {
      this.#onError(error)
    } catch {
      // a throwing onError must not reach the app's request
    }
  }

  /**
   * Fast path of the middlewares (see RECORD_API_REQUEST): false when the event must take the object path.
   * @internal
   */
  [RECORD_API_REQUEST](
    head: number,
    route: number,
    statusCode: number,
    durationMs: number,
    requestBytes: number,
    responseBytes: number,
    rare: RareParts | undefined,
    bytes: number,
  ): boolean {
    if (this.#closed || this.#queued >= this.#options.maxQueueSize) return false
    this.#batch(bytes).addApiRequest(
      head,
      route,
      statusCode,
      durationMs,
      Date.now(),
      requestBytes,
      responseBytes,
      rare,
      bytes,
    )
    this.#commit()
    return true
  }

  /** The open batch, sealed first when an event of `bytes` would take it past MAX_BATCH_BYTES. */
  #batch(bytes: number): PendingBatch {
    let open = this.#open
    if (open !== undefined && open.count > 0 && open.bytes + bytes > MAX_BATCH_BYTES) {
      this.#seal(open)
      this.#startDrain()
      open = undefined
    }
    if (open === undefined) {
      open = new PendingBatch(this.#options.flushAt)
      this.#open = open
    }
    return open
  }

  /**
   * Counts the event added last. A batch is sent when it holds flushAt events (or would pass
   * MAX_BATCH_BYTES with the next), else when the flush timer fires, flushInterval after the batch's first
   * event: batches are bounded by size and by time, and under load they are full (a partial batch is not
   * sent just because the previous send finished).
   */
  #commit(): void {
    this.#queued++
    const open = this.#open!
    if (open.count >= this.#options.flushAt) {
      this.#seal(open)
      this.#startDrain()
      this.#clearTimer()
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush(), this.#options.flushInterval)
      this.#timer.unref()
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
  }

  #seal(batch: PendingBatch): void {
    if (batch === this.#open) this.#open = undefined
    this.#batches.push(batch)
  }

  #reportClosed(event: EventCreate): void {
    this.#onError(
      new TallySdkError('closed', 'Tally.close() was called; the event was dropped', { events: [event] }),
    )
  }

  /** Reported once per overflow: the first event dropped, then nothing until a batch leaves the queue. */
  #reportFull(event: EventCreate): void {
    if (this.#overflowReported) return
    this.#overflowReported = true
    this.#onError(
      new TallySdkError(
        'queue_full',
        `More than ${this.#options.maxQueueSize} events queued; dropping new ones`,
        { events: [event] },
      ),
    )
  }

  /** Sends everything queued so far; resolves when it was delivered or given up on (see `onError`). */
  flush(): Promise<void> {
    this.#clearTimer()
    if (this.#open !== undefined) this.#seal(this.#open)
    return this.#startDrain()
  }

  /** Sends the sealed batches, one request at a time; one drain runs at most (it sends until none is left). */
  #startDrain(): Promise<void> {
    if (!this.#drainPending) {
      this.#drainPending = true
      this.#draining = this.#draining.then(() => this.#drain())
    }
    return this.#draining
  }

  /**
   * Stops accepting events, delivers the queue (retries included) and resolves — within `closeTimeoutMs`:
   * past it, what is not delivered is reported as `delivery_failed` and given up. Idempotent.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true
      this.#deadline = Date.now() + this.#options.closeTimeoutMs
    }
    await this.flush()
  }

  async #drain(): Promise<void> {
    for (;;) {
      const pending = this.#batches.shift()
      if (pending === undefined) break
      this.#queued -= pending.count
      this.#overflowReported = false
      const errors = await sendBatch(pending.format(), {
        endpoint: this.#endpoint,
        writeKey: this.#options.writeKey,
        timeoutMs: this.#options.timeoutMs,
        gzipAbove: this.#options.gzipAbove,
        maxRetries: this.#options.maxRetries,
        baseDelayMs: this.#options.retryBaseDelayMs,
        maxDelayMs: this.#options.retryMaxDelayMs,
        fetch: this.#fetch,
        sleep: (ms) => sleep(ms),
        deadline: () => this.#deadline,
      })
      for (const error of errors) {
        try {
          this.#onError(error)
        } catch {
          // a throwing onError must not stop delivery
        }
      }
    }
    this.#drainPending = false
  }
}

function warnOncePerCode(): (error: TallySdkError) => void {
  const seen = new Set<string>()
  return function warn(error) {
    if (seen.has(error.code)) return
    seen.add(error.code)
    console.warn(`[tally] ${error.code}: ${error.message}`)
  }
}
