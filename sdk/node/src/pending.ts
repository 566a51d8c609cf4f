import { BatchBuffer, fragment, PREFIX_BYTES, SUFFIX_BYTES } from './batch.js'

/** The version reported in `context.library`. */
export const SDK_VERSION = '0.1.0'
export const LIBRARY = { name: '@tally/node', version: SDK_VERSION }

/** `{"type":"api_request"`: an api_request event named by `identify`; its identity JSON follows. */
const EVENT_HEAD = fragment('{"type":"api_request"')
const DURATION = fragment(',"durationMs":')
const REQUEST_BYTES = fragment(',"requestBytes":')
const RESPONSE_BYTES = fragment(',"responseBytes":')
/** Closes `properties`, then the fields the client fills in. */
const MESSAGE_ID = fragment('},"messageId":"')
const TIMESTAMP = fragment('","timestamp":"')
const CONTEXT_END = fragment(`","context":${JSON.stringify({ library: LIBRARY })}}`)

/** Most bytes a number takes as JSON (`-1.7976931348623157e+308` is 24). */
const NUMBER_BYTES = 24
/** Bytes of an api_request event besides its head, route fragment, identity and extras: an upper bound. */
const API_FIXED_BYTES =
  1 + // the comma before it
  NUMBER_BYTES + // statusCode
  DURATION.length +
  NUMBER_BYTES +
  REQUEST_BYTES.length +
  NUMBER_BYTES +
  RESPONSE_BYTES.length +
  NUMBER_BYTES +
  MESSAGE_ID.length +
  36 + // the UUID
  TIMESTAMP.length +
  30 + // toISOString of any date
  CONTEXT_END.length

/**
 * Fragments a batch's rows refer to by number (method heads, route templates): registered once each, by
 * the middlewares' caches, so a queued event holds numbers only.
 */
const fragments: Uint8Array[] = []
export function registerFragment(bytes: Uint8Array): number {
  fragments.push(bytes)
  return fragments.length - 1
}

/** What an api_request event has beyond numbers: seldom anything (identify(), includePath, an error). */
export interface RareParts {
  /** The head when it has no fragment number (a method the server does not know). */
  head?: Uint8Array
  /** The route fragment when it has no number (past the route cache's limit). */
  route?: Uint8Array
  /** `,"userId":…,"anonymousId":…` after EVENT_HEAD; the head is then the method's part alone. */
  identity?: string
  /** `,"path":…,"error":…` */
  extra?: string
}

/** Numbers per event in a batch's rows. */
const STRIDE = 7
const HEAD = 0
const ROUTE = 1
const STATUS = 2
const DURATION_MS = 3
const TIME = 4
const REQUEST = 5
const RESPONSE = 6
/** HEAD of an event kept as JSON text (not an api_request). */
const TEXT = -2
/** HEAD or ROUTE of a fragment carried in the event's RareParts. */
const IN_PARTS = -1

/**
 * The events of one batch until it is sent: an api_request event as a row of numbers (fragment numbers,
 * status, duration, time, sizes) in one Float64Array — a queued request touches one cache line and
 * allocates nothing — and any other event as its JSON text. `format()` writes them all at once into the
 * request body, in one loop, off the request path (the drain calls it). `bytes` bounds the body's size
 * from above, so a batch is sealed before it could pass the server's limit.
 */
export class PendingBatch {
  count = 0
  bytes = PREFIX_BYTES + SUFFIX_BYTES
  #rows: Float64Array
  /** JSON text of other events, RareParts of api_request events that have any; by event index. */
  #rare: (string | RareParts | undefined)[] | undefined

  constructor(capacity: number) {
    this.#rows = new Float64Array(STRIDE * Math.max(16, Math.min(capacity, 4096)))
  }

  /** Bytes an api_request event with these parts takes at most in the body. */
  static apiRequestBytes(
    head: Uint8Array,
    route: Uint8Array,
    identity: string | undefined,
    extra: string | undefined,
  ): number {
    return (
      API_FIXED_BYTES +
      head.length +
      route.length +
      (identity === undefined ? 0 : EVENT_HEAD.length + 3 * identity.length) +
      (extra === undefined ? 0 : 3 * extra.length)
    )
  }

  addText(text: string, bytes: number): void {
    const row = this.#row()
    this.#rows[row + HEAD] = TEXT
    this.#setRare(text)
    this.count++
    this.bytes += bytes + 1
  }

  /**
   * @param head fragment number of the head, or -1 with `rare.head`
   * @param route fragment number of the route, or -1 with `rare.route`
   * @param requestBytes -1 when absent, like `responseBytes`
   */
  addApiRequest(
    head: number,
    route: number,
    statusCode: number,
    durationMs: number,
    time: number,
    requestBytes: number,
    responseBytes: number,
    rare: RareParts | undefined,
    bytes: number,
  ): void {
    const rows = this.#rows.length < STRIDE * (this.count + 1) ? this.#grow() : this.#rows
    const row = STRIDE * this.count
    rows[row + HEAD] = head
    rows[row + ROUTE] = route
    rows[row + STATUS] = statusCode
    rows[row + DURATION_MS] = durationMs
    rows[row + TIME] = time
    rows[row + REQUEST] = requestBytes
    rows[row + RESPONSE] = responseBytes
    if (rare !== undefined) this.#setRare(rare)
    this.count++
    this.bytes += bytes
  }

  #row(): number {
    if (this.#rows.length < STRIDE * (this.count + 1)) this.#grow()
    return STRIDE * this.count
  }

  #grow(): Float64Array {
    const rows = new Float64Array(this.#rows.length * 2)
    rows.set(this.#rows)
    this.#rows = rows
    return rows
  }

  #setRare(value: string | RareParts): void {
    this.#rare ??= []
    this.#rare[this.count] = value
  }

  /** The request body, `{"events":[…` (BatchBuffer.body adds `sentAt`). */
  format(): BatchBuffer {
    const b = new BatchBuffer(this.bytes)
    const rows = this.#rows
    const rare = this.#rare
    for (let i = 0; i < this.count; i++) {
      const row = STRIDE * i
      b.begin()
      const head = rows[row + HEAD]
      if (head === TEXT) {
        b.text(rare![i] as string)
      } else {
        const parts = rare === undefined ? undefined : (rare[i] as RareParts | undefined)
        if (parts?.identity !== undefined) {
          b.bytes(EVENT_HEAD)
          b.text(parts.identity)
        }
        b.bytes(head === IN_PARTS ? parts!.head! : fragments[head])
        const route = rows[row + ROUTE]
        b.bytes(route === IN_PARTS ? parts!.route! : fragments[route])
        b.number(rows[row + STATUS])
        b.bytes(DURATION)
        b.millis(rows[row + DURATION_MS])
        const requestBytes = rows[row + REQUEST]
        if (requestBytes >= 0) {
          b.bytes(REQUEST_BYTES)
          b.number(requestBytes)
        }
        const responseBytes = rows[row + RESPONSE]
        if (responseBytes >= 0) {
          b.bytes(RESPONSE_BYTES)
          b.number(responseBytes)
        }
        if (parts?.extra !== undefined) b.text(parts.extra)
        b.bytes(MESSAGE_ID)
        b.uuid()
        b.bytes(TIMESTAMP)
        b.iso(rows[row + TIME])
        b.bytes(CONTEXT_END)
      }
      b.commit()
    }
    return b
  }
}
