import { describe, expect, it } from 'vitest'
import { AppError } from '../../errors/app-error.js'
import type { ValidationIssue } from '../../schema/validation-issue.js'
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

  it('should name a track call by its event, noting a different name beside it (it won before, unnoted)', () => {
    const notes: ValidationIssue[] = []
    const out = fromSegmentMessage(
      { type: 'track', event: 'Real Event', name: 'Other', userId: 'u' },
      undefined,
      {},
      notes,
    )
    expect(out).toMatchObject({ name: 'Real Event' })
    expect(notes).toEqual([
      expect.objectContaining({ path: '/name', repaired: true, message: expect.stringContaining('"Other"') }),
    ])
    const same: ValidationIssue[] = []
    fromSegmentMessage({ type: 'track', event: 'A', name: 'A', userId: 'u' }, undefined, {}, same)
    expect(same).toEqual([])
  })

  it('should keep a usable name when event names nothing (a re-check trial: "" and 123 overrode it)', () => {
    for (const event of ['', '  ', 123]) {
      const notes: ValidationIssue[] = []
      const out = fromSegmentMessage({ type: 'track', event, name: 'NmD', userId: 'u' }, undefined, {}, notes)
      expect(out).toMatchObject({ name: 'NmD' })
      expect(notes).toEqual([expect.objectContaining({ path: '/event', repaired: true })])
    }
    // Without a name, an unusable event is passed on for the validator to refuse, as before.
    expect(fromSegmentMessage({ type: 'track', event: '', userId: 'u' })).toMatchObject({ name: '' })
  })

  it('should note a page category that gives way to properties.category', () => {
    const notes: ValidationIssue[] = []
    fromSegmentMessage(
      { category: 'Help', properties: { category: 'Own' }, anonymousId: 'a' },
      'page',
      {},
      notes,
    )
    expect(notes).toEqual([
      expect.objectContaining({ path: '/category', message: expect.stringContaining('"Help"') }),
    ])
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

  it("should merge batch context object by object: the message's app.build keeps the batch's app.name", () => {
    const batch = fromSegmentBatch({
      context: { app: { name: 'Shop', version: '2.0' }, locale: 'en', library: { name: 'x' } },
      batch: [
        {
          type: 'track',
          event: 'M1',
          userId: 'u',
          context: { app: { build: '77', version: '2.1' }, library: 'y' },
        },
      ],
    })
    expect((batch.events[0] as { context: unknown }).context).toEqual({
      app: { name: 'Shop', version: '2.1', build: '77' },
      locale: 'en',
      library: { name: 'y' }, // not both objects: the message's value wins (a bare name read as { name })
    })
  })

  it('should keep a __proto__ key of a merged context an own key, the prototype untouched', () => {
    const body = JSON.parse(
      '{"context":{"app":{"name":"S"}},"batch":[{"type":"track","event":"e","userId":"u","context":{"__proto__":{"x":1},"app":{"__proto__":{"y":2}}}}]}',
    )
    const { context } = fromSegmentBatch(body).events[0] as { context: Record<string, any> }
    expect(Object.hasOwn(context, '__proto__')).toBe(true)
    expect(Object.hasOwn(context.app, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(context)).toBe(Object.prototype)
    expect(context.app.name).toBe('S')
  })

  it('should refuse a body without a batch array', () => {
    expect(() => fromSegmentBatch({ batch: 'x' })).toThrow(AppError)
    expect(() => fromSegmentCall([], 'track')).toThrow(AppError)
  })
})
