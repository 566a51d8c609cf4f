import { describe, expect, it } from 'vitest'
import {
  aggregateEvents,
  boundedRollupKey,
  interactionTargetKey,
  MAX_ROLLUP_KEY_BYTES,
  performanceValue,
  type RollupInput,
} from './aggregate-events.js'

const base: RollupInput = {
  projectId: 'p1',
  type: 'track',
  name: 'Signed Up',
  timestamp: '2026-11-27T10:15:00.000Z',
  userId: 'u1',
  anonymousId: null,
  sessionId: 's1',
  properties: {},
}
const HOUR = Math.floor(Date.parse('2026-11-27T10:00:00Z') / 3_600_000)

describe('aggregateEvents', () => {
  it('should count per project, hour, type and name', () => {
    const agg = aggregateEvents([
      base,
      { ...base, timestamp: '2026-11-27T10:59:59.999Z' },
      { ...base, timestamp: '2026-11-27T11:00:00.000Z' },
      { ...base, type: 'identify', name: null },
      { ...base, projectId: 'p2' },
    ])
    const counts = [...agg.counts.values()].map((c) => [c.projectId, c.hour - HOUR, c.type, c.name, c.count])
    expect(counts).toEqual([
      ['p1', 0, 'track', 'Signed Up', 2],
      ['p1', 1, 'track', 'Signed Up', 1],
      ['p1', 0, 'identify', '', 1],
      ['p2', 0, 'track', 'Signed Up', 1],
    ])
  })

  it('should count users by userId, else anonymousId, and sessions', () => {
    const agg = aggregateEvents([
      base,
      { ...base, userId: null, anonymousId: 'a1', sessionId: 's2' },
      { ...base, userId: 'u2', sessionId: null },
      { ...base, userId: null, anonymousId: null, sessionId: null },
    ])
    const u = [...agg.uniques.values()][0]
    expect(u.users.estimate()).toBe(3)
    expect(u.sessions.estimate()).toBe(2)
  })

  it('should roll up performance values, ratings, API statuses and interaction targets', () => {
    const agg = aggregateEvents([
      { ...base, type: 'performance', name: 'LCP', properties: { value: 1200, rating: 'good' } },
      { ...base, type: 'performance', name: 'LCP', properties: { value: 4100, rating: 'poor' } },
      { ...base, type: 'performance', name: 'LCP', properties: { value: 'x' } },
      {
        ...base,
        type: 'api_request',
        properties: { method: 'GET', route: '/a', statusCode: 404, durationMs: 12 },
      },
      {
        ...base,
        type: 'api_request',
        properties: { method: 'GET', route: '/a', statusCode: 503, durationMs: 40 },
      },
      { ...base, type: 'interaction', name: 'click', properties: { target: { selector: '#buy' } } },
      {
        ...base,
        type: 'interaction',
        name: 'click',
        userId: 'u9',
        properties: { target: { selector: '#buy' } },
      },
    ])
    const lcp = [...agg.performance.values()][0]
    expect([lcp.count, lcp.good, lcp.needsImprovement, lcp.poor]).toEqual([2, 1, 0, 1])
    const api = [...agg.api.values()][0]
    expect([api.count, api.status4xx, api.status5xx, api.hist.count]).toEqual([2, 1, 1, 2])
    const click = [...agg.interactions.values()][0]
    expect([click.action, click.target, click.count, click.users.estimate()]).toEqual(['click', '#buy', 2, 2])
  })

  it('should rank performance values in the metric default unit: seconds as milliseconds', () => {
    const inp = (properties: Record<string, unknown>): RollupInput => ({
      ...base,
      type: 'performance',
      name: 'INP',
      properties,
    })
    const agg = aggregateEvents([
      inp({ value: 0.3, unit: 's' }),
      inp({ value: 100 }),
      inp({ value: 200, unit: 'ms' }),
    ])
    const h = [...agg.performance.values()][0].hist
    expect([h.quantile(0), h.quantile(1)]).toEqual([100, 300])
  })
})

describe('performanceValue', () => {
  it('should convert seconds for ms metrics, keep other units and refuse non-numbers', () => {
    expect(performanceValue('LCP', 2.5, 's')).toBe(2500)
    expect(performanceValue('LCP', 2500, 'ms')).toBe(2500)
    expect(performanceValue('LCP', 2500, null)).toBe(2500)
    expect(performanceValue('LCP', 2500, 'furlongs')).toBe(2500)
    expect(performanceValue('CLS', 0.1, 'score')).toBe(0.1)
    expect(performanceValue('LCP', '2.5', 's')).toBeNull()
    expect(performanceValue('LCP', Number.NaN, 's')).toBeNull()
  })
})

describe('interactionTargetKey', () => {
  it('should prefer the selector, then tag#id, then the tag', () => {
    expect(interactionTargetKey({ target: { selector: 'nav > a', tag: 'a' } })).toBe('nav > a')
    expect(interactionTargetKey({ target: { tag: 'button', id: 'buy' } })).toBe('button#buy')
    expect(interactionTargetKey({ target: { tag: 'button' } })).toBe('button')
    expect(interactionTargetKey({})).toBe('')
  })
})

describe('boundedRollupKey', () => {
  it('should keep keys up to 1,024 bytes and shorten longer ones on a character boundary with a digest', () => {
    const fits = 'é'.repeat(512) // 1,024 bytes
    expect(boundedRollupKey(fits)).toBe(fits)
    const astral = '😀'.repeat(300) // 1,200 bytes, 4 per character
    const short = boundedRollupKey(astral)
    expect(Buffer.byteLength(short)).toBeLessThanOrEqual(MAX_ROLLUP_KEY_BYTES)
    expect(short).toMatch(/^(😀)+…[0-9a-f]{16}$/u) // no character cut in half
    expect(boundedRollupKey(`${astral}a`)).not.toBe(short) // texts sharing the prefix stay apart
    expect(boundedRollupKey(astral)).toBe(short)
  })
})
