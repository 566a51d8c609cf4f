import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BatchBuffer, fragment } from '../src/batch.js'
import { isoTime } from '../src/clock.js'

/** Writes one value with `write` as a whole event and returns what the batch parses back to. */
function roundTrip(write: (b: BatchBuffer) => void, capacity = 256): unknown {
  const b = new BatchBuffer(capacity)
  b.begin()
  write(b)
  b.commit()
  return JSON.parse(b.body('2026-11-27T10:00:00.000Z').toString('utf8')).events[0]
}

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('BatchBuffer', () => {
  it('should make a request body {"events":[…],"sentAt":…} that parses, growing past its first capacity', () => {
    const b = new BatchBuffer(16)
    for (let i = 0; i < 500; i++) {
      b.begin()
      b.text(JSON.stringify({ i, text: 'é€😀"\\\n' }))
      b.commit()
    }
    const body = JSON.parse(b.body('2026-11-27T10:00:00.000Z').toString('utf8'))
    expect(body.sentAt).toBe('2026-11-27T10:00:00.000Z')
    expect(body.events).toHaveLength(500)
    expect(body.events[499]).toEqual({ i: 499, text: 'é€😀"\\\n' })
    expect(b.count).toBe(500)
    expect(b.events()).toEqual(body.events)
    // sentAt is written past the events, so a second body (a retry) replaces it.
    expect(JSON.parse(b.body('2026-11-27T10:00:01.000Z').toString()).sentAt).toBe('2026-11-27T10:00:01.000Z')
  })

  it('should write numbers as JSON.stringify does, digit by digit for integers', () => {
    for (const n of [0, 7, 10, 99, 100, 12345, 2 ** 31 - 1, 2 ** 31, 2 ** 53, -1, -0, 1.5, 1e21, 1e-7])
      expect(roundTrip((b) => b.number(n))).toBe(JSON.parse(JSON.stringify(n)))
    expect(roundTrip((b) => b.number(Number.NaN))).toBeNull()
    expect(roundTrip((b) => b.number(Number.POSITIVE_INFINITY))).toBeNull()
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (n) => roundTrip((b) => b.number(n)) === n),
    )
  })

  it('should write durations with three decimals, rounded to the microsecond', () => {
    const text = (ms: number) => {
      const b = new BatchBuffer(64)
      b.begin()
      b.millis(ms)
      return b.buf.toString('latin1', '{"events":['.length, b.len)
    }
    expect(text(0)).toBe('0.000')
    expect(text(1.25)).toBe('1.250')
    expect(text(0.0004)).toBe('0.000')
    expect(text(0.0005)).toBe('0.001')
    expect(text(12.3456789)).toBe('12.346')
    expect(text(999.9996)).toBe('1000.000')
    expect(text(1_000_000.5)).toBe('1000000.500')
    fc.assert(
      fc.property(fc.double({ min: 0, max: 2e6, noNaN: true }), (ms) => {
        const back = roundTrip((b) => b.millis(ms)) as number
        return Math.abs(back - ms) <= 0.0005 + 1e-9
      }),
    )
    // Outside what the digit writer covers: the number as JSON.
    expect(roundTrip((b) => b.millis(-1))).toBe(-1)
    expect(roundTrip((b) => b.millis(3e9))).toBe(3e9)
    expect(roundTrip((b) => b.millis(Number.NaN))).toBeNull()
  })

  it('should write strings as JSON strings, any Unicode included', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => roundTrip((b) => b.string(s), 8) === s))
    expect(roundTrip((b) => b.string('\u2028"\\\u0000'))).toBe('\u2028"\\\u0000')
  })

  it('should write version 4 UUIDs, all different', () => {
    const ids = new Set<string>()
    for (let i = 0; i < 1000; i++) {
      const id = roundTrip((b) => {
        b.bytes(fragment('"'))
        b.uuid()
        b.bytes(fragment('"'))
      }) as string
      expect(id).toMatch(UUID_V4)
      ids.add(id)
    }
    expect(ids.size).toBe(1000)
  })

  it('should write timestamps exactly as toISOString, across second and day boundaries', () => {
    const iso = (ms: number) =>
      roundTrip((b) => {
        b.bytes(fragment('"'))
        b.iso(ms)
        b.bytes(fragment('"'))
      })
    const at = Date.UTC(2026, 11, 31, 23, 59, 59, 998)
    for (const ms of [at, at + 1, at + 2, at + 1000, 0, 999, 1000, Date.now()])
      expect(iso(ms)).toBe(new Date(ms).toISOString())
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 253_402_300_799_999 }),
        (ms) => iso(ms) === new Date(ms).toISOString(),
      ),
    )
    // Outside years 0–9999 toISOString has another shape, which is kept.
    expect(iso(-1)).toBe(new Date(-1).toISOString())
    expect(iso(8.64e15)).toBe(new Date(8.64e15).toISOString())
  })
})

describe('isoTime', () => {
  it('should equal toISOString for any time, including repeated and out-of-range ones', () => {
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => {
        return isoTime(ms) === new Date(ms).toISOString() && isoTime(ms) === new Date(ms).toISOString()
      }),
    )
    expect(isoTime(1.5)).toBe(new Date(1.5).toISOString())
  })
})

describe('BatchBuffer growth', () => {
  it('should grow for the separating comma too (a buffer full to the last byte)', () => {
    const b = new BatchBuffer(0) // 256 bytes
    const first = JSON.stringify({ text: 'x'.repeat(256 - '{"events":['.length - '{"text":""}'.length) })
    b.begin()
    b.bytes(fragment(first)) // exactly the room left
    b.commit()
    expect(b.len).toBe(b.buf.length)
    b.begin()
    b.text('{"i":2}')
    b.commit()
    expect(b.events()).toEqual([JSON.parse(first), { i: 2 }])
  })
})
