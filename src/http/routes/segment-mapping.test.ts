import { describe, expect, it } from 'vitest'
import { AppError } from '../../errors/app-error.js'
import { fromSegmentBatch, fromSegmentCall, fromSegmentMessage } from './segment-mapping.js'

describe('fromSegmentMessage', () => {
  it('should rename event to name on track and drop Segment-only keys', () => {
    const out = fromSegmentMessage({
      type: 'track',
      event: 'Order Completed',
      userId: 'u1',
      messageId: 'm1',
      properties: { total: 3 },
      integrations: { All: true },
      _metadata: { nodeVersion: '20' },
      writeKey: 'k',
      channel: 'server',
      version: 2,
    })
    expect(out).toEqual({
      type: 'track',
      name: 'Order Completed',
      userId: 'u1',
      messageId: 'm1',
      properties: { total: 3 },
      integrations: { All: true },
    })
  })

  it('should let the route decide the type and treat nulls as absent', () => {
    expect(
      fromSegmentMessage({ type: 'track', userId: null, anonymousId: 'a', name: 'Home' }, 'page'),
    ).toEqual({
      type: 'page',
      anonymousId: 'a',
      name: 'Home',
    })
  })

  it('should move a page category into properties without overriding one sent there', () => {
    expect(fromSegmentMessage({ name: 'Docs', category: 'Help', properties: { a: 1 } }, 'page')).toEqual({
      type: 'page',
      name: 'Docs',
      properties: { a: 1, category: 'Help' },
    })
    expect(fromSegmentMessage({ category: 'Help', properties: { category: 'Own' } }, 'screen')).toMatchObject(
      {
        properties: { category: 'Own' },
      },
    )
  })

  it('should keep a __proto__ key as an own property for the validator to report', () => {
    const message = JSON.parse('{"event":"x","anonymousId":"a","__proto__":{"polluted":true}}')
    const out = fromSegmentMessage(message, 'track') as Record<string, unknown>
    expect(Object.hasOwn(out, '__proto__')).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('should pass non-objects through unchanged', () => {
    expect(fromSegmentMessage('x')).toBe('x')
    expect(fromSegmentMessage(null)).toBe(null)
  })
})

describe('fromSegmentBatch', () => {
  it('should merge batch-level context and integrations under each message and keep sentAt', () => {
    const batch = fromSegmentBatch({
      batch: [{ type: 'identify', userId: 'u', context: { locale: 'de' } }],
      context: { locale: 'en', library: { name: 'x' } },
      integrations: { All: false },
      sentAt: '2026-11-27T10:00:00.000Z',
      writeKey: 'k',
    })
    expect(batch).toEqual({
      sentAt: '2026-11-27T10:00:00.000Z',
      events: [
        {
          type: 'identify',
          userId: 'u',
          context: { locale: 'de', library: { name: 'x' } },
          integrations: { All: false },
        },
      ],
      notes: [[]],
    })
  })

  it('should refuse a body without a batch array', () => {
    expect(() => fromSegmentBatch({ batch: 'x' })).toThrow(AppError)
    expect(() => fromSegmentCall([], 'track')).toThrow(AppError)
  })
})
