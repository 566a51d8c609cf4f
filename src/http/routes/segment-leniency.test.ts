import { describe, expect, it } from 'vitest'
import { readLooseTimestamp, repairSegmentMessage } from './segment-leniency.js'
import { fromSegmentBatch, fromSegmentMessage } from './segment-mapping.js'

describe('readLooseTimestamp', () => {
  it.each([
    ['2015-2-02T00:30:12.984Z', '2015-02-02T00:30:12.984Z'], // Segment's own /v1/batch example
    ['2026-11-27T10:00:00.000', '2026-11-27T10:00:00.000Z'], // no zone: UTC
    ['2026-11-27 10:00:00', '2026-11-27T10:00:00.000Z'],
    ['2026-11-27', '2026-11-27T00:00:00.000Z'],
    ['2026-11-27T10:00:00+0130', '2026-11-27T08:30:00.000Z'],
    ['2026-11-27T10:00:00+01', '2026-11-27T09:00:00.000Z'], // ISO 8601 hour-only offset (was not read)
    ['2026-11-27T10:00:00.123456789-05:00', '2026-11-27T15:00:00.123Z'],
    [1795790000000, '2026-11-27T14:33:20.000Z'], // epoch milliseconds
    [1795790000, '2026-11-27T14:33:20.000Z'], // epoch seconds
  ])('should read %j as %s', (value, iso) => {
    expect(readLooseTimestamp(value)).toBe(iso)
  })

  it.each([
    'garbage',
    '2026-02-30T00:00:00Z',
    '2026-13-01',
    '2026-11-27T24:00:00Z',
    '2026-11-27T10:00:61Z',
    '2026-11-27T10:00:00+25:00',
    '',
    Number.NaN,
    Number.POSITIVE_INFINITY,
    -70_000_000_000, // year -249 (as seconds): toISOString's six-digit form, which the model refuses
    8.64e15, // year 275760
    253_402_300_800_000, // 10000-01-01
    1e300,
    true,
    null,
    { at: 1 },
  ])('should read %j as no instant', (value) => {
    expect(readLooseTimestamp(value)).toBeNull()
  })
})

describe('repairSegmentMessage', () => {
  it('should drop unknown top-level fields with an unknown_field note', () => {
    const out: Record<string, unknown> = { type: 'track', name: 'A', userId: 'u', email: 'x', 'a/b': 1 }
    const notes = repairSegmentMessage(out)
    expect(out).toEqual({ type: 'track', name: 'A', userId: 'u' })
    expect(notes.map((n) => [n.path, n.code])).toEqual([
      ['/email', 'unknown_field'],
      ['/a~1b', 'unknown_field'],
    ])
  })

  it('should judge fields by the event type: `name` is unknown on identify', () => {
    const out: Record<string, unknown> = { type: 'identify', userId: 'u', name: 'x', traits: {} }
    expect(repairSegmentMessage(out).map((n) => n.path)).toEqual(['/name'])
    expect(out).toEqual({ type: 'identify', userId: 'u', traits: {} })
  })

  it('should leave an event of an unknown type and a __proto__ key to the validator', () => {
    const bogus: Record<string, unknown> = { type: 'nope', extra: 1 }
    expect(repairSegmentMessage(bogus)).toEqual([])
    expect(bogus).toEqual({ type: 'nope', extra: 1 })
    const hostile = JSON.parse('{"type":"track","name":"A","userId":"u","__proto__":{"x":1}}')
    repairSegmentMessage(hostile)
    expect(Object.hasOwn(hostile, '__proto__')).toBe(true)
  })

  it('should read numbers sent as text, text sent as numbers and a bare library name in typed context fields (refused before)', () => {
    const context = {
      screen: { density: '2.0', width: '390', height: '0x10' },
      ip: 12345,
      library: 'analytics-ruby',
      locale: 'de-DE',
      custom: { density: '2.0' },
    }
    const out: Record<string, unknown> = { type: 'track', name: 'A', userId: 'u', context }
    const notes = repairSegmentMessage(out)
    expect(out.context).toEqual({
      screen: { density: 2, width: 390, height: '0x10' }, // not decimal: left for the validator
      // ip: no number is an address — unset, so the connection's applies
      library: { name: 'analytics-ruby' },
      locale: 'de-DE',
      custom: { density: '2.0' }, // free-form: as sent
    })
    expect(context.screen.density).toBe('2.0') // the input is not changed
    expect(notes.map((n) => [n.path, n.code, n.repaired])).toEqual([
      ['/context/ip', 'type', true],
      ['/context/screen/width', 'type', true],
      ['/context/screen/density', 'type', true],
      ['/context/library', 'type', true],
    ])
  })

  it('should read empty-string ids as absent', () => {
    const out: Record<string, unknown> = { type: 'track', name: 'A', userId: '', anonymousId: 'a' }
    expect(repairSegmentMessage(out)).toEqual([
      { path: '/userId', code: 'format', message: 'empty string read as absent', repaired: true },
    ])
    expect(out).toEqual({ type: 'track', name: 'A', anonymousId: 'a' })
  })

  it('should make loose timestamps canonical and drop unreadable ones, noting each', () => {
    const out: Record<string, unknown> = {
      type: 'track',
      name: 'A',
      userId: 'u',
      timestamp: '2015-2-02T00:30:12.984Z',
      sentAt: 'yesterday',
      originalTimestamp: '2026-11-27T10:00:00.000Z',
    }
    const notes = repairSegmentMessage(out)
    expect(out.timestamp).toBe('2015-02-02T00:30:12.984Z')
    expect(out).not.toHaveProperty('sentAt')
    expect(out.originalTimestamp).toBe('2026-11-27T10:00:00.000Z') // already valid: untouched, no note
    expect(notes.map((n) => n.path)).toEqual(['/timestamp', '/sentAt'])
  })

  it('should remove typed context fields sent as null or empty, keeping free-form ones', () => {
    const context = {
      ip: null,
      userAgent: null,
      locale: '',
      timezone: 'Europe/Berlin',
      page: { referrer: null, url: 'https://a.example/' },
      screen: { density: null, width: 390 },
      custom: null,
    }
    const out: Record<string, unknown> = { type: 'track', name: 'A', userId: 'u', context }
    const notes = repairSegmentMessage(out)
    expect(out.context).toEqual({
      timezone: 'Europe/Berlin',
      page: { url: 'https://a.example/' },
      screen: { width: 390 },
      custom: null,
    })
    expect(notes.map((n) => n.path).sort()).toEqual([
      '/context/ip',
      '/context/locale',
      '/context/page/referrer',
      '/context/screen/density',
      '/context/userAgent',
    ])
    expect(context.page.referrer).toBeNull() // the input is not mutated
  })
})

describe('fromSegmentBatch sentAt', () => {
  it('should read a loose batch sentAt and note it on every event', () => {
    const batch = fromSegmentBatch({
      batch: [
        { type: 'track', event: 'A', userId: 'u' },
        { type: 'track', event: 'B', userId: 'u' },
      ],
      sentAt: '2026-11-27 10:00:00',
    })
    expect(batch.sentAt).toBe('2026-11-27T10:00:00.000Z')
    expect(batch.notes?.map((n) => n.map((x) => x.path))).toEqual([['/sentAt'], ['/sentAt']])
  })
})

describe('repairs bounded and only where they apply', () => {
  it('should leave an event with more keys than any object may have to the validator, noting nothing', () => {
    const out: Record<string, unknown> = { type: 'track', name: 'A', userId: 'u' }
    for (let i = 0; i < 2_000; i++) out[`k${i}`] = i
    expect(repairSegmentMessage(out)).toEqual([])
    expect(Object.keys(out)).toHaveLength(2_003)
  })

  it('should note the first ten dropped fields and count the rest in one note', () => {
    const out: Record<string, unknown> = { type: 'track', name: 'A', userId: 'u' }
    for (let i = 0; i < 500; i++) out[`k${i}`] = i
    const notes = repairSegmentMessage(out)
    expect(out).toEqual({ type: 'track', name: 'A', userId: 'u' })
    expect(notes).toHaveLength(11)
    expect(notes[10]).toMatchObject({
      path: '',
      code: 'unknown_field',
      message: expect.stringMatching(/^490 more fields/),
    })
  })

  it("should note a batch's loose sentAt only on the events that take it", () => {
    const batch = fromSegmentBatch({
      batch: [
        { type: 'track', event: 'A', userId: 'u' },
        { type: 'track', event: 'B', userId: 'u', sentAt: '2026-11-27T10:00:00.000Z' },
      ],
      sentAt: '2026-11-27 10:00:00',
    })
    expect(batch.notes?.map((n) => n.map((x) => x.path))).toEqual([['/sentAt'], []])
  })
})

describe('fromSegmentMessage leniency', () => {
  it('should read sessionId: null as absent, as the other ids', () => {
    expect(
      fromSegmentMessage({ type: 'track', event: 'A', userId: 'u', sessionId: null }),
    ).not.toHaveProperty('sessionId')
  })

  it('should not replace properties that are not an object by { category }', () => {
    const out = fromSegmentMessage({ userId: 'u', category: 'C', properties: [1, 2] }, 'page') as Record<
      string,
      unknown
    >
    expect(out.properties).toEqual([1, 2]) // left for the validator to refuse
  })
})
