import type { EventType } from '../schema/event-types.js'

/**
 * One minimal valid event per type, for tests (validate, tracking plan, CLI). Fresh copies on each call,
 * so a test may change them freely.
 */
export function validEvents(): Record<EventType, Record<string, unknown>> {
  return {
    track: {
      type: 'track',
      name: 'Order Completed',
      userId: 'u1',
      messageId: 'm-1',
      timestamp: '2026-11-27T10:00:00.000Z',
      sentAt: '2026-11-27T10:00:01+01:00',
      properties: { revenue: 10.5, currency: 'EUR' },
      context: {
        userAgent: 'Mozilla/5.0',
        locale: 'en-GB',
        page: { url: 'https://shop.test/cart?utm_source=x' },
        library: { name: 'tally-js', version: '1.0.0' },
      },
    },
    page: { type: 'page', anonymousId: 'a1', context: { page: { url: 'https://shop.test/', path: '/' } } },
    screen: {
      type: 'screen',
      name: 'Home',
      userId: 42,
      context: { app: { name: 'Shop', version: '1.2.3', build: 77 } },
    },
    identify: { type: 'identify', userId: 'u1', traits: { email: 'ada@example.org', plan: 'pro' } },
    group: { type: 'group', userId: 'u1', groupId: 'g1', traits: { name: 'Acme' } },
    alias: { type: 'alias', userId: 'u2', previousId: 'a1' },
    performance: {
      type: 'performance',
      name: 'LCP',
      anonymousId: 'a1',
      properties: { value: 1234.5, unit: 'ms', rating: 'good', navigationType: 'navigate', id: 'v4-1' },
    },
    interaction: {
      type: 'interaction',
      name: 'click',
      anonymousId: 'a1',
      properties: {
        target: { selector: 'button#buy', tag: 'button', id: 'buy', text: 'Buy now', href: '/checkout' },
      },
    },
    api_request: {
      type: 'api_request',
      anonymousId: 'server',
      properties: {
        method: 'GET',
        route: '/users/:id',
        path: '/users/7',
        statusCode: 200,
        durationMs: 12.5,
        responseBytes: 512,
      },
    },
  }
}
