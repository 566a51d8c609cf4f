import { randomFillSync } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'
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

/**
 * UUIDv7 ids from the `uuid` package, monotonic within the generator, with random bytes drawn from a 4 KB
 * pool. uuid's own pool is 256 bytes, so `v7()` paid a `randomFillSync` call every 16 ids (~6% of
 * `format()` in a profile); here it is every 256. The monotonic rule is uuid's own (`updateV7State`): in
 * the same millisecond the 32-bit sequence counts up, and on overflow the millisecond moves on.
 */
export function createUuidV7Generator(now: () => number = Date.now) {
  const pool = new Uint8Array(POOL_BYTES)
  let offset = POOL_BYTES
  let msecs = Number.NEGATIVE_INFINITY
  let seq = 0
  return function generateUuidV7(): string {
    if (offset + 16 > POOL_BYTES) {
      randomFillSync(pool)
      offset = 0
    }
    const random = pool.subarray(offset, offset + 16)
    offset += 16
    const t = now()
    if (t > msecs) {
      seq = (random[6] << 23) | (random[7] << 16) | (random[8] << 8) | random[9]
      msecs = t
    } else {
      seq = (seq + 1) | 0
      if (seq === 0) msecs++
    }
    return uuidv7({ msecs, seq, random })
  }
}
