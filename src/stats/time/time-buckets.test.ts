import { describe, expect, it } from 'vitest'
import { AppError } from '../../errors/app-error.js'
import { bucketEdges, bucketStart, edgesAlignedToHours, nextBucketStart } from './time-buckets.js'

const t = (iso: string) => Date.parse(iso)
const iso = (ms: number) => new Date(ms).toISOString()

describe('bucketEdges', () => {
  it('should make a 23-hour local day when Europe/Berlin springs forward', () => {
    const edges = bucketEdges(t('2026-03-28T12:00:00Z'), t('2026-03-30T00:00:00Z'), 'day', 'Europe/Berlin')
    expect(edges.map(iso)).toEqual([
      '2026-03-27T23:00:00.000Z',
      '2026-03-28T23:00:00.000Z',
      '2026-03-29T22:00:00.000Z',
      '2026-03-30T22:00:00.000Z',
    ])
  })

  it('should make a 25-hour local day when America/New_York falls back', () => {
    const edges = bucketEdges(t('2026-11-01T12:00:00Z'), t('2026-11-01T13:00:00Z'), 'day', 'America/New_York')
    expect(edges.map(iso)).toEqual(['2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z'])
  })

  it('should start a day at 01:00 in a zone whose clocks skip midnight (America/Santiago, 2026-09-06)', () => {
    const start = bucketStart(t('2026-09-06T12:00:00Z'), 'day', 'America/Santiago')
    // Clocks jump from 00:00 (UTC−4) to 01:00 (UTC−3): the first local instant is 04:00Z.
    expect(iso(start)).toBe('2026-09-06T04:00:00.000Z')
  })

  it('should start weeks on local Monday', () => {
    const start = bucketStart(t('2026-11-27T10:00:00Z'), 'week', 'Asia/Tokyo') // a Friday
    expect(iso(start)).toBe('2026-11-22T15:00:00.000Z') // Monday 23 Nov 00:00 JST
    expect(iso(nextBucketStart(start, 'week', 'Asia/Tokyo'))).toBe('2026-11-29T15:00:00.000Z')
  })

  it('should give half-hour edges in Asia/Kolkata, which hourly rollups cannot answer', () => {
    const edges = bucketEdges(t('2026-11-27T00:00:00Z'), t('2026-11-28T00:00:00Z'), 'day', 'Asia/Kolkata')
    expect(iso(edges[0])).toBe('2026-11-26T18:30:00.000Z')
    expect(edgesAlignedToHours(edges)).toBe(false)
    expect(
      edgesAlignedToHours(bucketEdges(t('2026-11-27T00:00:00Z'), t('2026-11-28T00:00:00Z'), 'day', 'UTC')),
    ).toBe(true)
  })

  it('should floor minute and hour buckets in UTC and cover the range whole', () => {
    const edges = bucketEdges(t('2026-11-27T10:15:30Z'), t('2026-11-27T12:00:00Z'), 'hour')
    expect(edges.map(iso)).toEqual([
      '2026-11-27T10:00:00.000Z',
      '2026-11-27T11:00:00.000Z',
      '2026-11-27T12:00:00.000Z',
    ])
    expect(bucketEdges(t('2026-11-27T10:15:30Z'), t('2026-11-27T10:15:30Z'), 'minute')).toHaveLength(2)
  })

  it('should refuse an unknown zone and too many buckets with validation_failed', () => {
    expect(() => bucketStart(0, 'day', 'Mars/Olympus')).toThrow(AppError)
    try {
      bucketEdges(0, 30 * 86_400_000, 'minute', 'UTC', 1000)
      expect.unreachable()
    } catch (err) {
      expect((err as AppError).code).toBe('validation_failed')
    }
  })

  it('should find each local midnight as a full search does, in zones with odd DST rules', () => {
    // The oracle: the least instant whose local date is the day, by binary search over ±16 h.
    const dateKey = (ms: number, timeZone: string) => {
      const p = Object.fromEntries(
        new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' })
          .formatToParts(ms)
          .map((x) => [x.type, Number(x.value)]),
      )
      return p.year * 10_000 + p.month * 100 + p.day
    }
    const firstInstant = (key: number, utcMidnight: number, timeZone: string) => {
      let lo = utcMidnight - 16 * 3_600_000
      let hi = utcMidnight + 16 * 3_600_000
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2)
        if (dateKey(mid, timeZone) >= key) hi = mid
        else lo = mid
      }
      return hi
    }
    const zones = [
      'Europe/Berlin',
      'America/Santiago', // clocks skip midnight
      'America/Havana', // DST at midnight
      'Pacific/Apia', // skipped 30 Dec 2011 entirely
      'Australia/Lord_Howe', // 30-minute DST
      'Africa/Casablanca', // DST suspended for Ramadan
    ]
    for (const zone of zones) {
      const edges = bucketEdges(t('2011-09-01T00:00:00Z'), t('2012-04-15T00:00:00Z'), 'day', zone)
      expect(edges.every((e, i) => i === 0 || e > edges[i - 1])).toBe(true)
      for (const edge of edges) {
        const key = dateKey(edge, zone)
        const midnight = Date.UTC(Math.floor(key / 10_000), (Math.floor(key / 100) % 100) - 1, key % 100)
        expect(iso(edge), `${zone} ${key}`).toBe(iso(firstInstant(key, midnight, zone)))
      }
    }
  })

  it('should keep years before 100 (Date.UTC reads year 50 as 1950)', () => {
    const edges = bucketEdges(t('0050-01-01T00:00:00Z'), t('0050-01-03T00:00:00Z'), 'day', 'UTC')
    expect(edges.map(iso)).toEqual([
      '0050-01-01T00:00:00.000Z',
      '0050-01-02T00:00:00.000Z',
      '0050-01-03T00:00:00.000Z',
    ])
  })

  it('should refuse a range far over the bucket limit without computing its buckets', () => {
    const from = t('1000-01-01T00:00:00Z')
    const to = t('9999-12-31T00:00:00Z')
    expect(() => bucketEdges(from, to, 'week', 'Europe/Berlin', 9_000)).toThrow(/more than 9000 week buckets/)
    // At the limit it still answers: 9,000 days.
    expect(
      bucketEdges(
        t('2000-01-01T00:00:00Z'),
        t('2000-01-01T00:00:00Z') + 8_999 * 86_400_000,
        'day',
        'UTC',
        9_000,
      ),
    ).toHaveLength(9_000)
  })
})
