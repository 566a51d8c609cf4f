import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, skipBrowserTests } from '../helpers/chromium.js'
import { createTestApp, KEYS, type TestApp } from '../integration/http-helpers.js'

declare const window: any

/** Segment's own Analytics.js 2.0 build, as a site loads it (its chunks load from the same folder). */
const ANALYTICS_JS = new URL('../../node_modules/@segment/analytics-next/dist/umd/', import.meta.url).pathname

type StoredEvent = {
  type: string
  name: string | null
  userId: string | null
  anonymousId: string | null
  properties: Record<string, any>
  traits: Record<string, any> | null
  context: Record<string, any>
}

/**
 * A page loading Analytics.js without Segment's CDN: `cdnSettings` points its Segment.io destination at
 * Tally (docs/sdk.md, "Segment's Analytics.js"). `strategy`: one request per call (`/v1/t`, `/v1/i`, …)
 * or the batching dispatcher (`/v1/b`).
 */
function analyticsPage(tallyHost: string, userId: string, strategy: 'standard' | 'batching'): string {
  const settings = {
    integrations: {
      'Segment.io': {
        apiKey: KEYS.write,
        apiHost: `${new URL(tallyHost).host}/v1`,
        protocol: 'http',
        ...(strategy === 'batching'
          ? { deliveryStrategy: { strategy: 'batching', config: { size: 3, timeout: 200 } } }
          : {}),
      },
    },
  }
  return `<!doctype html><html><head><title>Docs home</title><script src="/ajs/index.js"></script><script>
const analytics = AnalyticsNext.AnalyticsBrowser.load({ writeKey: ${JSON.stringify(KEYS.write)}, cdnSettings: ${JSON.stringify(settings)} })
analytics.identify(${JSON.stringify(userId)}, { plan: 'pro' })
analytics.track('Report Exported', { format: 'csv' })
analytics.page('Docs', 'Home')
</script></head><body>docs</body></html>`
}

describe.skipIf(skipBrowserTests)("Segment's Analytics.js 2.0 in headless Chromium", () => {
  let t: TestApp
  let tallyHost: string
  let site: Server
  let siteUrl: string
  let browser: Browser

  beforeAll(async () => {
    t = await createTestApp({ TALLY_HOST: '127.0.0.1' })
    tallyHost = await t.app.listen()
    // Another origin than Tally's, as on a real site: the SDK's Basic-auth requests need CORS preflights.
    site = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://site')
      if (url.pathname.startsWith('/ajs/')) {
        const file = ANALYTICS_JS + url.pathname.slice('/ajs/'.length)
        if (!file.includes('..') && existsSync(file)) {
          res.writeHead(200, { 'content-type': 'text/javascript' })
          return res.end(readFileSync(file))
        }
        res.writeHead(404)
        return res.end()
      }
      const strategy = url.searchParams.get('strategy') === 'batching' ? 'batching' : 'standard'
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(analyticsPage(tallyHost, url.searchParams.get('user') ?? 'nobody', strategy))
    })
    site.listen(0, '127.0.0.1')
    await once(site, 'listening')
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    site?.close()
    await t?.close()
  })

  async function eventsOf(userId: string, count: number): Promise<StoredEvent[]> {
    const until = Date.now() + 15_000
    for (;;) {
      const res = await fetch(`${tallyHost}/api/v1/events?userId=${userId}&limit=100&order=asc`, {
        headers: { authorization: `Bearer ${KEYS.read}` },
      })
      const { events } = (await res.json()) as { events: StoredEvent[] }
      if (events.length >= count || Date.now() > until) return events
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  for (const strategy of ['standard', 'batching'] as const) {
    it(`should store identify, track and page as sent (${strategy} delivery)`, async () => {
      const userId = `ajs-${strategy}`
      const context = await browser.newContext()
      const paths: string[] = []
      context.on('request', (r) => {
        if (r.url().startsWith(tallyHost) && r.method() === 'POST') paths.push(new URL(r.url()).pathname)
      })
      const page = await context.newPage()
      await page.goto(`${siteUrl}/docs?user=${userId}&strategy=${strategy}&utm_source=newsletter`)
      const events = await eventsOf(userId, 3)
      await context.close()

      expect(new Set(paths)).toEqual(
        new Set(strategy === 'batching' ? ['/v1/b'] : ['/v1/i', '/v1/t', '/v1/p']),
      )
      expect(events.map((e) => e.type).sort()).toEqual(['identify', 'page', 'track'])
      const anonymousIds = new Set(events.map((e) => e.anonymousId))
      expect(anonymousIds.size).toBe(1)
      expect([...anonymousIds][0]).toEqual(expect.any(String))
      const byType = Object.fromEntries(events.map((e) => [e.type, e]))
      expect(byType.identify.traits).toMatchObject({ plan: 'pro' })
      expect(byType.track).toMatchObject({ name: 'Report Exported', properties: { format: 'csv' } })
      expect(byType.page).toMatchObject({ name: 'Home', properties: { category: 'Docs' } })
      expect(byType.page.context).toMatchObject({
        page: { path: '/docs', title: 'Docs home' },
        campaign: { source: 'newsletter' },
        library: { name: 'analytics.js' },
        userAgentData: { browser: { name: expect.stringContaining('Chrome') } },
      })
    })
  }
})
