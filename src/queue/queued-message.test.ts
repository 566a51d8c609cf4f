import { describe, expect, it } from 'vitest'
import { decodeQueuedMessage } from './queued-message.js'

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v))

const event = {
  id: '0190a1b2-0000-7000-8000-000000000001',
  projectId: 'default',
  type: 'track',
  name: 'Signed Up',
  messageId: 'm1',
  userId: 'u1',
  anonymousId: null,
  sessionId: null,
  groupId: null,
  previousId: null,
  timestamp: '2026-01-01T00:00:00.000Z',
  originalTimestamp: null,
  sentAt: null,
  receivedAt: '2026-01-01T00:00:01.000Z',
  properties: { a: 1 },
  traits: null,
  context: {},
  status: 'received',
  error: null,
  attempts: 0,
  tags: [],
  schema: null,
  violations: [],
}

describe('decodeQueuedMessage', () => {
  it('should accept a queued event and a failed event', () => {
    expect(decodeQueuedMessage(enc(event), false)).toMatchObject({ ok: true, kind: 'event' })
    const failed = { id: 'f1', projectId: 'default', receivedAt: event.receivedAt, payload: null, errors: [] }
    expect(decodeQueuedMessage(enc(failed), true)).toMatchObject({ ok: true, kind: 'failed' })
  })

  it.each([
    ['not JSON', '{nope'],
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"x"'],
    ['an array', '[]'],
    ['an empty object', '{}'],
    ['no projectId', { ...event, projectId: undefined }],
    ['a numeric messageId', { ...event, messageId: 7 }],
    ['an unknown type', { ...event, type: 'nope' }],
    ['a bad timestamp', { ...event, timestamp: 'yesterday' }],
    ['properties null', { ...event, properties: null }],
    ['tags not strings', { ...event, tags: [1] }],
    ['attempts negative', { ...event, attempts: -1 }],
  ])('should refuse %s as an event', (_, value) => {
    const r = decodeQueuedMessage(enc(value), false)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).not.toBe('')
  })

  it('should refuse a failed event without id, receivedAt or errors', () => {
    expect(decodeQueuedMessage(enc(null), true).ok).toBe(false)
    expect(
      decodeQueuedMessage(enc({ projectId: 'p', receivedAt: event.receivedAt, errors: [] }), true).ok,
    ).toBe(false)
    expect(decodeQueuedMessage(enc({ id: 'f', projectId: 'p', payload: 1, errors: [] }), true).ok).toBe(false)
    expect(
      decodeQueuedMessage(enc({ id: 'f', projectId: 'p', receivedAt: event.receivedAt, payload: 1 }), true)
        .ok,
    ).toBe(false)
  })
})
