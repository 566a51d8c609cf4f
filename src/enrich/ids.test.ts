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
