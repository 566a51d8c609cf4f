import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { BatchBuffer, fragment } from './batch.js'
import { isoTime } from './clock.js'
import { sendBatch } from './transport.js'
import { type EventCreate, type Message, TallySdkError } from './types.js'

/** The version reported in `context.library`. */
export const SDK_VERSION = '0.1.0'
const LIBRARY = { name: '@tally/node', version: SDK_VERSION }
/** The server refuses bodies over 500 KB (UTF-8, after decompression); batches are cut well below that. */
const MAX_BATCH_BYTES = 400 * 1024
/** First capacity of a batch's buffer; later batches start at the size the previous one reached. */
const MIN_BATCH_CAPACITY = 16 * 1024

const MESSAGE_ID = fragment(',"messageId":"')
const TIMESTAMP = fragment('","timestamp":"')
const CONTEXT_END = fragment(`","context":${JSON.stringify({ library: LIBRARY })}}`)

/**
 * The middlewares' fast path: `[BEGIN_EVENT]()` returns the batch to write an event into (or undefined when
 * the client is closed or full: then use the object path, which reports it), the caller writes `{` and its
 * fields, and `[END_EVENT](batch)` adds messageId, timestamp, context.library and the closing brace.
 * Not part of the public API.
 * @internal
 */
export const BEGIN_EVENT: unique symbol = Symbol('tally.beginEvent')
/** @internal */
export const END_EVENT: unique symbol = Symbol('tally.endEvent')

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
  /** The batch events are written into; sealed (moved to `#batches`) at flushAt events or MAX_BATCH_BYTES. */
  #open: BatchBuffer | undefined
  /** Sealed batches waiting to be sent, oldest first. */
  #batches: BatchBuffer[] = []
  /** Events in `#open` and `#batches`. */
  #queued = 0
  #nextCapacity = MIN_BATCH_CAPACITY
  #timer: NodeJS.Timeout | undefined
  #draining: Promise<void> = Promise.resolve()
  /** A drain is queued or running; it sends until the queue is empty, so one is enough. */
  #drainPending = false
  #closed = false
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
    const batch = this.#batch()
    batch.begin()
    batch.text(text)
    this.#commit(batch)
  }

  /**
   * Fast path of the middlewares (see BEGIN_EVENT): the open batch with an event begun, or undefined when
   * the event must take the object path (closed, queue full).
   * @internal
   */
  [BEGIN_EVENT](): BatchBuffer | undefined {
    if (this.#closed || this.#queued >= this.#options.maxQueueSize) return undefined
    const batch = this.#batch()
    batch.begin()
    return batch
  }

  /**
   * Ends an event begun by BEGIN_EVENT: `,"messageId":"<uuid>","timestamp":"<now>","context":{…}}`.
   * @internal
   */
  [END_EVENT](batch: BatchBuffer): void {
    batch.bytes(MESSAGE_ID)
    batch.uuid()
    batch.bytes(TIMESTAMP)
    batch.iso(Date.now())
    batch.bytes(CONTEXT_END)
    this.#commit(batch)
  }

  #batch(): BatchBuffer {
    if (this.#open === undefined) this.#open = new BatchBuffer(this.#nextCapacity)
    return this.#open
  }

  /**
   * Counts the event written last. A batch is sent when it holds flushAt events (or MAX_BATCH_BYTES), else
   * when the flush timer fires, flushInterval after the batch's first event: batches are bounded by size and
   * by time, and under load they are full (a partial batch is not sent just because the previous send
   * finished).
   */
  #commit(batch: BatchBuffer): void {
    batch.commit()
    this.#queued++
    if (batch.len > MAX_BATCH_BYTES && batch.count > 1) {
      // The event pushed the batch over the size limit: it starts the next one.
      this.#open = batch.splitLast(this.#nextCapacity)
      this.#seal(batch)
      if (this.#open.count >= this.#options.flushAt) this.#seal(this.#open)
      this.#startDrain()
    } else if (batch.count >= this.#options.flushAt) {
      this.#seal(batch)
      this.#startDrain()
    }
    if (this.#open === undefined) this.#clearTimer()
    else if (this.#timer === undefined) {
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

  #seal(batch: BatchBuffer): void {
    if (batch === this.#open) this.#open = undefined
    this.#batches.push(batch)
    this.#nextCapacity = Math.max(MIN_BATCH_CAPACITY, Math.min(batch.len + (batch.len >> 2), MAX_BATCH_BYTES))
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

  /** Stops accepting events, delivers the queue (retries included) and resolves. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true
    await this.flush()
  }

  async #drain(): Promise<void> {
    for (;;) {
      const batch = this.#batches.shift()
      if (batch === undefined) break
      this.#queued -= batch.count
      this.#overflowReported = false
      const error = await sendBatch(batch, {
        endpoint: this.#endpoint,
        writeKey: this.#options.writeKey,
        timeoutMs: this.#options.timeoutMs,
        gzipAbove: this.#options.gzipAbove,
        maxRetries: this.#options.maxRetries,
        baseDelayMs: this.#options.retryBaseDelayMs,
        maxDelayMs: this.#options.retryMaxDelayMs,
        fetch: this.#fetch,
        sleep: (ms) => sleep(ms),
      })
      if (error) {
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
