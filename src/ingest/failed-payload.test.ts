import { describe, expect, it } from 'vitest'
import { failedEventId, keepablePayload, MAX_KEPT_DEPTH, TRUNCATED_MARKER } from './failed-payload.js'

function nested(depth: number): unknown {
  let v: unknown = 'leaf'
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v]
  return v
}

describe('keepablePayload', () => {
  it('should return ordinary payloads unchanged and uncopied', () => {
    const payload = { type: 'track', properties: { a: [1, { b: 2 }] } }
    expect(keepablePayload(payload)).toBe(payload)
  })

  it('should cut a payload nested 50,000 deep so it can be serialised', () => {
    const kept = keepablePayload(nested(50_000))
    const text = JSON.stringify(kept)
    expect(text).toContain(TRUNCATED_MARKER)
    let depth = 0
    let v: unknown = kept
    while (typeof v === 'object' && v !== null) {
      v = Array.isArray(v) ? v[0] : (v as { a: unknown }).a
      depth++
    }
    expect(depth).toBe(MAX_KEPT_DEPTH)
  })

  it('should keep a __proto__ key as data without touching the prototype', () => {
    const hostile = JSON.parse(`{"__proto__":{"polluted":true},"x":${JSON.stringify(nested(100))}}`)
    const kept = keepablePayload(hostile) as Record<string, unknown>
    expect(Object.hasOwn(kept, '__proto__')).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getPrototypeOf(kept)).toBe(Object.prototype)
  })
})

describe('keepablePayload: text the stores cannot keep', () => {
  it('should write NUL and lone surrogates in keys and strings as escape text, leaving pairs alone', () => {
    const payload = JSON.parse('{"type":"track","properties":{"s":"a\\u0000b","k\\u0000":["\\ud800x","😀"]}}')
    const kept = keepablePayload(payload) as { properties: Record<string, unknown> }
    expect(kept.properties).toEqual({ s: 'a\\u0000b', 'k\\u0000': ['\\ud800x', '😀'] })
    expect(payload.properties.s).toBe('a\u0000b') // the input is not changed
  })
})

describe('failedEventId', () => {
  it('should derive one id per project and messageId, and a fresh one without a usable messageId', () => {
    const a = failedEventId('p1', { messageId: 'm-1', type: 'track' })
    expect(failedEventId('p1', { messageId: 'm-1', type: 'page' })).toBe(a)
    expect(failedEventId('p2', { messageId: 'm-1' })).not.toBe(a)
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    // "" and blanks identify nothing: five different events refused for it stayed one record.
    for (const messageId of ['', '  ', undefined, null, { x: 1 }])
      expect(failedEventId('p1', { messageId })).not.toBe(failedEventId('p1', { messageId }))
  })
})
