import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { sendBatch } from './transport.js'
import { type EventCreate, type Message, TallySdkError } from './types.js'

/** The version reported in `context.library`. */
export const SDK_VERSION = '0.1.0'
const LIBRARY = { name: '@tally/node', version: SDK_VERSION }
/** The server refuses bodies over 500 KB; batches are cut well below that. */
const MAX_BATCH_BYTES = 400 * 1024

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
  /** Send once this many events are queued. Default 100. */
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
  #queue: EventCreate[] = []
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
      flushAt: Math.max(1, options.flushAt ?? 100),
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
    return this.#queue.length
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
   * `context.library`. Problems go to `onError`; this never throws.
   */
  enqueue(event: EventCreate): void {
    if (this.#closed) {
      this.#onError(
        new TallySdkError('closed', 'Tally.close() was called; the event was dropped', { events: [event] }),
      )
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
    if (this.#queue.length >= this.#options.maxQueueSize) {
      if (!this.#overflowReported) {
        this.#overflowReported = true
        this.#onError(
          new TallySdkError(
            'queue_full',
            `More than ${this.#options.maxQueueSize} events queued; dropping new ones`,
            {
              events: [event],
            },
          ),
        )
      }
      return
    }
    this.#queue.push({
      ...event,
      messageId: event.messageId ?? randomUUID(),
      timestamp: event.timestamp ?? new Date().toISOString(),
      context: event.context?.library ? event.context : { ...event.context, library: LIBRARY },
    })
    if (this.#queue.length >= this.#options.flushAt) {
      if (!this.#drainPending) void this.flush()
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush(), this.#options.flushInterval)
      this.#timer.unref()
    }
  }

  /** Sends everything queued so far; resolves when it was delivered or given up on (see `onError`). */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
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
    while (this.#queue.length > 0) {
      const { events, json } = this.#takeBatch()
      this.#overflowReported = false
      const error = await sendBatch(events, json, {
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

  /**
   * Up to `flushAt` events and MAX_BATCH_BYTES of JSON (at least one event, so nothing gets stuck), each
   * serialised once: the JSON is reused for every attempt.
   */
  #takeBatch(): { events: EventCreate[]; json: string[] } {
    let bytes = 0
    const json: string[] = []
    while (json.length < this.#queue.length && json.length < this.#options.flushAt) {
      const text = JSON.stringify(this.#queue[json.length])
      bytes += text.length + 1
      if (json.length > 0 && bytes > MAX_BATCH_BYTES) break
      json.push(text)
    }
    return { events: this.#queue.splice(0, json.length), json }
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
