import { v7 as uuidv7 } from 'uuid'
import { describe, expect, it } from 'vitest'
import { createUuidV7Generator, normaliseId, resolveMessageId } from './ids.js'

describe('normaliseId', () => {
  it('should store numeric ids as decimal strings and absent ids as null', () => {
    expect(normaliseId(42)).toBe('42')
    expect(normaliseId(-7)).toBe('-7')
    expect(normaliseId(9007199254740991)).toBe('9007199254740991')
    expect(normaliseId('u-1')).toBe('u-1')
    expect(normaliseId(undefined)).toBeNull()
  })
})

describe('resolveMessageId', () => {
  it('should keep the client key (stringified) or fall back to the event id', () => {
    expect(resolveMessageId('m-1', 'id')).toBe('m-1')
    expect(resolveMessageId(123, 'id')).toBe('123')
    expect(resolveMessageId(undefined, '0193-id')).toBe('0193-id')
  })
})

describe('createUuidV7Generator', () => {
  const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

  it('should give well-formed, strictly increasing ids within one millisecond and across the pool refill', () => {
    const gen = createUuidV7Generator(() => 1_764_244_800_000)
    let prev = ''
    for (let i = 0; i < 600; i++) {
      const id = gen()
      expect(id).toMatch(V7)
      expect(id > prev).toBe(true)
      prev = id
    }
    expect(prev.startsWith('019ac52f-4200')).toBe(true) // the millisecond, in the first 48 bits
  })

  it('should stay ordered when the clock goes backwards', () => {
    let t = 2_000_000_000_000
    const gen = createUuidV7Generator(() => t)
    const a = gen()
    t -= 5000
    expect(gen() > a).toBe(true)
  })
})

describe('createUuidV7Generator (bytes)', () => {
  it('should write exactly what uuid v7() writes for the same time, sequence and random bytes', () => {
    let fills = 0
    const fill = (pool: Uint8Array) => {
      fills++
      for (let i = 0; i < pool.length; i++) pool[i] = (i * 131 + fills * 17 + (i >> 3)) & 0xff
    }
    const copy = new Uint8Array(16 * 256)
    const times = [1_764_244_800_000, 1_764_244_800_000, 1_764_244_800_001, 281_474_976_710_655, 0]
    const gen = createUuidV7Generator(
      () => times[Math.min(calls++, times.length - 1)],
      (p) => {
        fill(p)
        copy.set(p)
      },
    )
    let calls = 0
    let msecs = Number.NEGATIVE_INFINITY
    let seq = 0
    for (let i = 0; i < 600; i++) {
      const id = gen()
      const o = (i % 256) * 16
      const random = copy.subarray(o, o + 16)
      const t = times[Math.min(calls - 1, times.length - 1)]
      if (t > msecs) {
        seq = (random[6] << 23) | (random[7] << 16) | (random[8] << 8) | random[9]
        msecs = t
      } else {
        seq = (seq + 1) | 0
        if (seq === 0) msecs++
      }
      expect(id).toBe(uuidv7({ msecs, seq, random }))
    }
  })
})
