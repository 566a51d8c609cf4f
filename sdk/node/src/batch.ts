import { randomFillSync } from 'node:crypto'

/**
 * One request body: `{"events":[e1,e2,…` as UTF-8 bytes in a growing Buffer, closed with `],"sentAt":"…"}`
 * when it is sent (again, with a new sentAt, on a retry). PendingBatch.format() writes the events: JSON
 * text as it is, api_request events field by field — pre-encoded fragments, numbers digit by digit, no
 * intermediate strings.
 */
export class BatchBuffer {
  buf: Buffer
  /** Bytes written, from the `{"events":[` prefix to the end of the last event. */
  len: number
  /** Events written. */
  count = 0

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(capacity, 256))
    this.len = this.buf.write(PREFIX, 0, 'latin1')
  }

  /** Starts an event (the separating comma). */
  begin(): void {
    if (this.count > 0) {
      this.reserve(1)
      this.buf[this.len++] = COMMA
    }
  }

  /** Ends the event begun last. */
  commit(): void {
    this.count++
  }

  /** Room for `n` more bytes. */
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n))
    this.buf.copy(grown, 0, 0, this.len)
    this.buf = grown
  }

  /** Constant bytes (a pre-encoded fragment). */
  bytes(fragment: Uint8Array): void {
    this.reserve(fragment.length)
    this.buf.set(fragment, this.len)
    this.len += fragment.length
  }

  /** Any text, UTF-8 encoded (JSON made by JSON.stringify). */
  text(text: string): void {
    this.reserve(3 * text.length)
    this.len += this.buf.write(text, this.len)
  }

  /** A string as a JSON string. */
  string(value: string): void {
    this.text(JSON.stringify(value))
  }

  /** A number as JSON; integers in 0…2³¹-1 are written digit by digit, anything else via its text. */
  number(value: number): void {
    if (value >= 0 && value <= 0x7fffffff && (value | 0) === value) {
      this.reserve(10)
      this.len = writeUint(this.buf, this.len, value)
    } else {
      this.text(Number.isFinite(value) ? `${value}` : 'null')
    }
  }

  /** A duration in ms with three decimals (rounded to the microsecond), e.g. `12.034`. */
  millis(value: number): void {
    const us = Math.round(value * 1000)
    if (!(us >= 0 && us <= 0x7fffffff)) {
      this.number(value)
      return
    }
    const whole = (us / 1000) | 0
    const frac = us - whole * 1000
    this.reserve(14)
    const buf = this.buf
    let i = writeUint(buf, this.len, whole)
    buf[i++] = DOT
    buf[i++] = ZERO + ((frac / 100) | 0)
    buf[i++] = ZERO + (((frac / 10) | 0) % 10)
    buf[i++] = ZERO + (frac % 10)
    this.len = i
  }

  /** A random (version 4) UUID, as `randomUUID()` makes it, written as 36 hex digits and dashes. */
  uuid(): void {
    if (poolAt + 16 > pool.length) {
      randomFillSync(pool)
      poolAt = 0
    }
    this.reserve(36)
    const buf = this.buf
    const at = poolAt
    let i = this.len
    for (let k = 0; k < 16; k++) {
      let b = pool[at + k]
      if (k === 6) b = (b & 0x0f) | 0x40
      else if (k === 8) b = (b & 0x3f) | 0x80
      buf[i] = HEX_PAIRS[2 * b]
      buf[i + 1] = HEX_PAIRS[2 * b + 1]
      i += 2
      if (k === 3 || k === 5 || k === 7 || k === 9) buf[i++] = DASH
    }
    poolAt = at + 16
    this.len = i
  }

  /** `ms` as an ISO-8601 UTC timestamp (as `toISOString`), the text up to the seconds kept per second. */
  iso(ms: number): void {
    if (!(ms >= 0 && ms < MAX_PLAIN_ISO_MS) || !Number.isInteger(ms)) {
      this.text(new Date(ms).toISOString())
      return
    }
    const millis = ms % 1000
    const second = ms - millis
    if (second !== isoSecond) {
      isoSecond = second
      isoPrefix.write(new Date(second).toISOString(), 0, 20, 'latin1')
    }
    this.reserve(24)
    const buf = this.buf
    buf.set(isoPrefix, this.len)
    let i = this.len + 20
    buf[i++] = ZERO + ((millis / 100) | 0)
    buf[i++] = ZERO + (((millis / 10) | 0) % 10)
    buf[i++] = ZERO + (millis % 10)
    buf[i++] = Z
    this.len = i
  }

  /** The request body with `sentAt`; the returned view shares this buffer (the suffix is written past `len`). */
  body(sentAt: string): Buffer {
    const suffix = `],"sentAt":${JSON.stringify(sentAt)}}`
    this.reserve(suffix.length)
    const end = this.len + this.buf.write(suffix, this.len, 'latin1')
    return this.buf.subarray(0, end)
  }

  /** The events, parsed back (error reports only). */
  events(): unknown[] {
    return (JSON.parse(`${this.buf.toString('utf8', 0, this.len)}]}`) as { events: unknown[] }).events
  }
}

const PREFIX = '{"events":['
/** Bytes of the body around the events: `{"events":[` and `],"sentAt":"<toISOString>"}` at most. */
export const PREFIX_BYTES = PREFIX.length
export const SUFFIX_BYTES = '],"sentAt":""}'.length + 30
const COMMA = 0x2c
const DOT = 0x2e
const DASH = 0x2d
const ZERO = 0x30
const Z = 0x5a
/** The two hex digits of every byte value: HEX_PAIRS[2b], HEX_PAIRS[2b + 1]. */
const HEX_PAIRS = Buffer.from(
  Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0')).join(''),
  'latin1',
)

/** Years 0–9999 print as `YYYY-MM-DDTHH:mm:ss.sssZ`; outside them `toISOString` has another shape. */
const MAX_PLAIN_ISO_MS = 253_402_300_800_000
let isoSecond = Number.NaN
/** `YYYY-MM-DDTHH:mm:ss.` of `isoSecond`. */
const isoPrefix = Buffer.alloc(20)

/** Random bytes for 256 UUIDs at a time (what `randomUUID` caches too). */
const pool = Buffer.alloc(16 * 256)
let poolAt = pool.length

/** Writes a non-negative integer below 2³¹ as decimal digits; returns the new offset. */
function writeUint(buf: Buffer, at: number, n: number): number {
  if (n < 10) {
    buf[at] = ZERO + n
    return at + 1
  }
  let digits = 1
  for (let p = 10; p <= n && digits < 10; p *= 10) digits++
  let i = at + digits
  while (i > at) {
    const q = (n / 10) | 0
    buf[--i] = ZERO + (n - q * 10)
    n = q
  }
  return at + digits
}

/** UTF-8 bytes of a fragment written often. */
export function fragment(text: string): Buffer {
  return Buffer.from(text, 'utf8')
}
