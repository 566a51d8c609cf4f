import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../schema/canonical-json.js'
import { groupKey } from './group-key.js'

/** The decoding docs/statistics.md gives: a key that parses as JSON is that value, any other is a string. */
function decode(key: string | null): unknown {
  if (key === null) return null
  try {
    return JSON.parse(key)
  } catch {
    return key
  }
}

describe('groupKey', () => {
  it('should keep strings as their text unless they read as JSON, and give other values as canonical JSON', () => {
    expect(groupKey('pro')).toBe('pro')
    expect(groupKey('/cart')).toBe('/cart')
    expect(groupKey('10')).toBe('"10"')
    expect(groupKey(10)).toBe('10')
    expect(groupKey('true')).toBe('"true"')
    expect(groupKey(true)).toBe('true')
    expect(groupKey('null')).toBe('"null"')
    expect(groupKey(' 1 ')).toBe('" 1 "')
    expect(groupKey('"x"')).toBe('"\\"x\\""')
    expect(groupKey('{"a":1}')).toBe('"{\\"a\\":1}"')
    expect(groupKey('{not json')).toBe('{not json')
    expect(groupKey(1e21)).toBe('1e+21')
    expect(groupKey({ b: [true, null], a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":[true,null]}')
    expect(groupKey(null)).toBeNull()
    expect(groupKey(undefined)).toBeNull()
  })

  it('should sort object keys by code unit, integer-like keys too', () => {
    expect(canonicalJson({ b: 1, 10: 2, 9: 3, a: 4 })).toBe('{"10":2,"9":3,"a":4,"b":1}')
  })

  it('should decode back to the value, so distinct JSON values never share a key', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const key = groupKey(v)
        // JSON null reads as missing; -0 is 0 in JSON.
        expect(decode(key)).toEqual(JSON.parse(JSON.stringify(v)))
      }),
      { numRuns: 2000 },
    )
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(decode(groupKey(s))).toBe(s)
      }),
      { numRuns: 2000 },
    )
  })
})
