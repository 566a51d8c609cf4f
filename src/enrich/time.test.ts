import { describe, expect, it } from 'vitest'
import { formatIsoTime, parseIsoTime } from './iso-time.js'
import { DEFAULT_FUTURE_TOLERANCE_MS, DEFAULT_MAX_AGE_MS, resolveTime } from './time.js'

const limits = { futureToleranceMs: DEFAULT_FUTURE_TOLERANCE_MS, maxAgeMs: DEFAULT_MAX_AGE_MS }
const received = Date.parse('2026-11-27T12:00:00.000Z')
const receivedIso = '2026-11-27T12:00:00.000Z'
const at = (input: Parameters<typeof resolveTime>[0]) => resolveTime(input, received, receivedIso, limits)

describe('resolveTime', () => {
  it('should use receivedAt when the client sent no time', () => {
    expect(at({})).toEqual({
      timestamp: receivedIso,
      originalTimestamp: null,
      sentAt: null,
      timestampMs: received,
      issue: null,
    })
  })

  it('should correct a client clock that is hours behind using sentAt', () => {
    // Client clock 5 h behind: the event happened 2 s before it was sent.
    const r = at({ timestamp: '2026-11-27T06:59:58.000Z', sentAt: '2026-11-27T07:00:00.000Z' })
    expect(r.timestamp).toBe('2026-11-27T11:59:58.000Z')
    expect(r.originalTimestamp).toBe('2026-11-27T06:59:58.000Z')
    expect(r.sentAt).toBe('2026-11-27T07:00:00.000Z')
    expect(r.issue).toBeNull()
  })

  it('should correct a client clock that is hours ahead (zone offset in the input) without flagging it', () => {
    const r = at({ timestamp: '2026-11-27T20:30:00+03:00', sentAt: '2026-11-27T20:31:00+03:00' })
    expect(r.timestamp).toBe('2026-11-27T11:59:00.000Z')
    expect(r.originalTimestamp).toBe('2026-11-27T20:30:00+03:00')
    expect(r.issue).toBeNull()
  })

  it('should fall back to Segment originalTimestamp when timestamp is absent', () => {
    const r = at({ originalTimestamp: '2026-11-27T11:00:00.000Z' })
    expect(r.timestamp).toBe('2026-11-27T11:00:00.000Z')
    expect(r.originalTimestamp).toBe('2026-11-27T11:00:00.000Z')
  })

  it('should normalise a timestamp with an offset to UTC when there is no sentAt', () => {
    expect(at({ timestamp: '2026-11-27T13:00:00+02:00' }).timestamp).toBe('2026-11-27T11:00:00.000Z')
  })

  it('should flag timestamp_in_future when a clock hours ahead cannot be corrected (no sentAt)', () => {
    const r = at({ timestamp: '2026-11-27T15:00:00.000Z' })
    expect(r.timestamp).toBe(receivedIso) // clamped
    expect(r.originalTimestamp).toBe('2026-11-27T15:00:00.000Z')
    expect(r.issue).toMatchObject({ path: '/timestamp', code: 'timestamp_in_future' })
  })

  it('should accept a timestamp within the future tolerance', () => {
    expect(at({ timestamp: '2026-11-27T12:59:00.000Z' }).issue).toBeNull()
  })

  it('should flag timestamp_too_old beyond the window, even after correction', () => {
    const r = at({ timestamp: '2026-10-01T00:00:00.000Z', sentAt: '2026-11-27T12:00:00.000Z' })
    expect(r.issue).toMatchObject({ code: 'timestamp_too_old' })
    expect(r.timestamp).toBe('2026-10-01T00:00:00.000Z') // kept
    expect(at({ timestamp: '2026-11-01T00:00:00.000Z' }).issue).toBeNull()
  })

  it('should flag a timestamp later than its sentAt by more than the tolerance', () => {
    const r = at({ timestamp: '2026-11-27T14:00:00.000Z', sentAt: '2026-11-27T12:00:00.000Z' })
    expect(r.timestamp).toBe(receivedIso)
    expect(r.issue?.code).toBe('timestamp_in_future')
  })

  it('should use receivedAt and a format issue, not throw, for an unparseable or unrepresentable time', () => {
    expect(at({ timestamp: '2026-13-45T99:00:00Z' })).toMatchObject({
      timestamp: receivedIso,
      issue: { code: 'format' },
    })
    const far = at({ timestamp: '0001-01-01T00:00:00.000Z', sentAt: '9999-12-31T23:59:59.000Z' })
    expect(far).toMatchObject({ timestamp: receivedIso, issue: { code: 'format' } })
  })

  it('should ignore an unparseable sentAt and keep the timestamp', () => {
    expect(at({ timestamp: '2026-11-27T11:00:00.000Z', sentAt: 'soon' }).timestamp).toBe(
      '2026-11-27T11:00:00.000Z',
    )
  })
})

describe('formatIsoTime', () => {
  it('should match Date#toISOString across days, milliseconds and the year range', () => {
    for (const ms of [
      0, 1, 999, 86_399_999, 86_400_000, 1_764_244_800_123, 253_402_300_799_999, -1, -62_167_219_200_000,
    ]) {
      expect(formatIsoTime(ms)).toBe(new Date(ms).toISOString())
    }
    expect(formatIsoTime(253_402_300_800_000)).toBeNull()
    expect(formatIsoTime(Number.NaN)).toBeNull()
  })
})

describe('parseIsoTime', () => {
  it('should agree with Date.parse on the fast path and off it', () => {
    const inputs = [
      '2026-11-27T10:00:00.000Z',
      '2026-11-27T23:59:59.999Z',
      '2026-11-28T00:00:00.001Z',
      '2024-02-29T12:00:00.000Z',
      '2026-11-27T10:00:00+02:00',
      '2026-11-27T10:00:00Z',
      '2026-11-27T24:00:00.000Z',
      '2026-02-30T10:00:00.000Z',
      '2026-11-27T1a:00:00.000Z',
      'nonsense',
    ]
    for (const s of [...inputs, ...inputs]) expect(parseIsoTime(s), s).toEqual(Date.parse(s))
  })
})
