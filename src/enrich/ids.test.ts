import { describe, expect, it } from 'vitest'
import { normaliseId, resolveMessageId } from './ids.js'

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
