import { randomFillSync } from 'node:crypto'
import type { Identifier } from '../schema/primitives.js'

/** An identifier as stored: numeric ids a client sent become their decimal string; absent becomes null. */
export function normaliseId(value: Identifier | undefined): string | null {
  if (value === undefined || value === null) return null
  return typeof value === 'string' ? value : String(value)
}

/**
 * The stored `messageId`: the client's idempotency key (stringified if numeric) or, when it sent none, the
 * server-assigned event id, so every stored event has one and a generated key is time-ordered too.
 */
export function resolveMessageId(value: Identifier | undefined, eventId: string): string {
  return normaliseId(value) ?? eventId
}

const POOL_BYTES = 16 * 256
/** `HEX[b]` is byte `b` as two lower-case hex digits. */
const HEX = Array.from({ length: 256 }, (_, b) => (b < 16 ? '0' : '') + b.toString(16))

/**
 * UUIDv7 ids, monotonic within the generator, byte for byte what the `uuid` package's `v7()` writes for
 * the same time, sequence and random bytes, with random bytes drawn from a 4 KB pool. uuid's own pool is
 * 256 bytes, so `v7()` paid a `randomFillSync` call every 16 ids (~6% of `format()` in a profile); here
 * it is every 256. The monotonic rule is uuid's own (`updateV7State`): in the same millisecond the 32-bit
 * sequence counts up, and on overflow the millisecond moves on. The string is written from a hex table
 * (uuid's `v7({ msecs, seq, random })` allocated an options object, a 16-byte array and 16 hex lookups
 * joined by `+`: 0.28 µs per id against ~0.1 µs here), and the 13 hex digits of the millisecond are reused
 * while it does not change. `fillRandom` is for tests (default `crypto.randomFillSync`).
 */
export function createUuidV7Generator(
  now: () => number = Date.now,
  fillRandom: (pool: Uint8Array) => void = randomFillSync,
) {
  const pool = new Uint8Array(POOL_BYTES)
  let offset = POOL_BYTES
  let msecs = Number.NEGATIVE_INFINITY
  let seq = 0
  let timeHexMs = Number.NaN
  let timeHex = '' // "tttttttt-tttt-"
  return function generateUuidV7(): string {
    if (offset + 16 > POOL_BYTES) {
      fillRandom(pool)
      offset = 0
    }
    const o = offset
    offset += 16
    const t = now()
    if (t > msecs) {
      seq = (pool[o + 6] << 23) | (pool[o + 7] << 16) | (pool[o + 8] << 8) | pool[o + 9]
      msecs = t
    } else {
      seq = (seq + 1) | 0
      if (seq === 0) msecs++
    }
    if (msecs !== timeHexMs) {
      timeHexMs = msecs
      timeHex =
        HEX[(msecs / 0x10000000000) & 0xff] +
        HEX[(msecs / 0x100000000) & 0xff] +
        HEX[(msecs / 0x1000000) & 0xff] +
        HEX[(msecs / 0x10000) & 0xff] +
        '-' +
        HEX[(msecs / 0x100) & 0xff] +
        HEX[msecs & 0xff] +
        '-'
    }
    return (
      timeHex +
      HEX[0x70 | ((seq >>> 28) & 0x0f)] +
      HEX[(seq >>> 20) & 0xff] +
      '-' +
      HEX[0x80 | ((seq >>> 14) & 0x3f)] +
      HEX[(seq >>> 6) & 0xff] +
      '-' +
      HEX[((seq << 2) & 0xff) | (pool[o + 10] & 0x03)] +
      HEX[pool[o + 11]] +
      HEX[pool[o + 12]] +
      HEX[pool[o + 13]] +
      HEX[pool[o + 14]] +
      HEX[pool[o + 15]]
    )
  }
}
