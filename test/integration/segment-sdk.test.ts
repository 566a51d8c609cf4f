import { Analytics } from '@segment/analytics-node'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bearer, createTestApp, KEYS, type TestApp } from './http-helpers.js'

let t: TestApp
let url: string
beforeEach(async () => {
  t = await createTestApp()
  url = await t.app.listen()
})
afterEach(async () => {
  await t.close()
})

async function readEvents(query: string) {
  const res = await fetch(`${url}/api/v1/events?${query}`, { headers: bearer(KEYS.read) })
  expect(res.status).toBe(200)
  return (await res.json()) as { events: Record<string, any>[] }
}

describe('@segment/analytics-node against a running Tally', () => {
  it('should store track, identify, page and screen calls with the right fields', async () => {
    const analytics = new Analytics({ writeKey: KEYS.write, host: url, flushAt: 10, maxRetries: 0 })
    const errors: unknown[] = []
    analytics.on('error', (err) => errors.push(err))
    analytics.track({
      userId: 'user-42',
      event: 'Order Completed',
      properties: { total: 99.5, currency: 'EUR' },
      timestamp: new Date('2026-11-27T10:00:00.000Z'),
      messageId: 'seg-track-1',
    })
    analytics.identify({ userId: 'user-42', traits: { plan: 'pro', email: 'a@b.example' } })
    analytics.page({
      anonymousId: 'anon-7',
      name: 'Pricing',
      category: 'Marketing',
      properties: { path: '/pricing' },
    })
    analytics.screen({ userId: 'user-42', name: 'Home' })
    await analytics.closeAndFlush({ timeout: 10_000 })
    expect(errors).toEqual([])

    const { events } = await readEvents('order=asc&limit=10')
    expect(events.map((e) => e.type).sort()).toEqual(['identify', 'page', 'screen', 'track'])
    const track = events.find((e) => e.type === 'track')!
    expect(track).toMatchObject({
      name: 'Order Completed',
      userId: 'user-42',
      messageId: 'seg-track-1',
      properties: { total: 99.5, currency: 'EUR' },
      projectId: 'default',
    })
    expect(track.context.library.name).toBe('@segment/analytics-node')
    expect(Date.parse(track.originalTimestamp ?? track.timestamp)).toBe(
      Date.parse('2026-11-27T10:00:00.000Z'),
    )
    const identify = events.find((e) => e.type === 'identify')!
    expect(identify.userId).toBe('user-42')
    expect(identify.traits.plan).toBe('pro')
    const page = events.find((e) => e.type === 'page')!
    expect(page).toMatchObject({ name: 'Pricing', anonymousId: 'anon-7' })
    expect(page.properties).toMatchObject({ path: '/pricing', category: 'Marketing' })
    expect(events.find((e) => e.type === 'screen')!.name).toBe('Home')
  })

  it('should not store a retried batch twice (same messageIds)', async () => {
    for (let round = 0; round < 2; round++) {
      const analytics = new Analytics({ writeKey: KEYS.write, host: url, flushAt: 5, maxRetries: 0 })
      for (let i = 0; i < 5; i++) analytics.track({ userId: 'u', event: 'Retry', messageId: `retry-${i}` })
      await analytics.closeAndFlush({ timeout: 10_000 })
    }
    const { events } = await readEvents('names=Retry')
    expect(events).toHaveLength(5)
  })

  it('should report a wrong write key as an error to the SDK', async () => {
    const analytics = new Analytics({
      writeKey: 'tly_w_wrong-key-00000000000',
      host: url,
      flushAt: 1,
      maxRetries: 0,
    })
    const errors: unknown[] = []
    analytics.on('error', (err) => errors.push(err))
    analytics.track({ userId: 'u', event: 'Nope' })
    await analytics.closeAndFlush({ timeout: 10_000 })
    expect(errors.length).toBeGreaterThan(0)
    expect((await readEvents('names=Nope')).events).toHaveLength(0)
  })
})
