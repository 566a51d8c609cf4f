import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, skipBrowserTests } from '../helpers/chromium.js'
import { createTestApp, KEYS, type TestApp } from '../integration/http-helpers.js'

// Functions passed to page.evaluate/waitForFunction run in the page, where these exist.
declare const window: any
declare const localStorage: any

const SCRIPT = new URL('../../sdk/browser/dist/tally.js', import.meta.url)

type StoredEvent = {
  type: string
  name: string | null
  anonymousId: string | null
  userId: string | null
  sessionId: string | null
  messageId: string
  sentAt: string | null
  properties: Record<string, any>
  context: Record<string, any>
}

function fixturePage(tallyHost: string, flushInterval: number): string {
  return `<!doctype html>
<html><head><title>Fixture shop</title>
<script>window.tally=window.tally||function(){(tally.q=tally.q||[]).push(arguments)};tally('track','Preloaded',{from:'queue'});tally('identify','u-preloaded')</script>
<script async src="/tally.js" data-host="${tallyHost}" data-write-key="${KEYS.write}" data-flush-interval="${flushInterval}"></script>
</head><body>
<h1>Fixture shop</h1><p>Text for the first contentful paint and the largest one.</p>
<main id="main">
  <div><span>x</span><button>  Buy
     now  </button></div>
  <a href="#pricing" data-tally-plan="pro">Pricing</a>
  <form id="signup" action="/signup"><input name="email"><input type="password" name="pw"><button type="submit">Sign up</button></form>
  <button id="spa">Next step</button>
</main>
<script>
document.getElementById('signup').addEventListener('submit', (e) => e.preventDefault())
document.getElementById('spa').addEventListener('click', () => history.pushState({}, '', '/spa/next'))
</script>
</body></html>`
}

describe.skipIf(skipBrowserTests)('browser tracker in headless Chromium', () => {
  let t: TestApp
  let tallyHost: string
  let site: Server
  let siteUrl: string
  let browser: Browser
  let flushInterval = 200

  beforeAll(async () => {
    execFileSync(process.execPath, ['sdk/browser/build.mjs'], { stdio: 'pipe' })
    t = await createTestApp({ TALLY_HOST: '127.0.0.1' })
    tallyHost = await t.app.listen()
    // The page is served from another origin than Tally, as on a real site (CORS on the ingest routes).
    site = createServer((req, res) => {
      if (req.url === '/tally.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' })
        res.end(readFileSync(SCRIPT))
      } else {
        res.writeHead(200, { 'content-type': 'text/html' })
        res.end(fixturePage(tallyHost, flushInterval))
      }
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

  async function readEvents(): Promise<StoredEvent[]> {
    const res = await fetch(`${tallyHost}/api/v1/events?limit=1000&order=asc`, {
      headers: { authorization: `Bearer ${KEYS.read}` },
    })
    return ((await res.json()) as { events: StoredEvent[] }).events
  }

  /** Polls the server until `done` holds for the events of this anonymous id (or fails after 10 s). */
  async function eventsOf(
    anonymousId: string,
    done: (events: StoredEvent[]) => boolean,
  ): Promise<StoredEvent[]> {
    const until = Date.now() + 10_000
    for (;;) {
      const events = (await readEvents()).filter((e) => e.anonymousId === anonymousId)
      if (done(events) || Date.now() > until) return events
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  async function openFixture(context: BrowserContext): Promise<{ page: Page; anonymousId: string }> {
    const page = await context.newPage()
    await page.goto(`${siteUrl}/shop`)
    await page.waitForFunction(() => typeof window.tally?.anonymousId === 'function')
    const anonymousId = await page.evaluate(() => window.tally.anonymousId() as string)
    return { page, anonymousId }
  }

  it('should send page views, clicks, a submit without input values, web vitals and queued calls', async () => {
    const context = await browser.newContext()
    const { page, anonymousId } = await openFixture(context)
    await page.fill('input[name=email]', 'secret-person@example.com')
    await page.fill('input[name=pw]', 'hunter2-password')
    await page.click('text=Buy now')
    await page.click('text=Pricing')
    await page.click('text=Sign up')
    await page.click('#spa')

    const has = (events: StoredEvent[], type: string, name: string | null) =>
      events.some((e) => e.type === type && e.name === name)
    const events = await eventsOf(
      anonymousId,
      (ev) =>
        ['FCP', 'TTFB', 'LCP'].every((m) => has(ev, 'performance', m)) &&
        has(ev, 'interaction', 'submit') &&
        ev.filter((e) => e.type === 'page').length === 2,
    )
    await context.close()

    const track = events.find((e) => e.type === 'track')
    expect(track).toMatchObject({ name: 'Preloaded', properties: { from: 'queue' } })
    const pages = events.filter((e) => e.type === 'page')
    expect(pages.map((e) => e.context.page.path)).toEqual(['/shop', '/spa/next'])
    // A queued identify names the visitor on the first, automatic page view too (it came after it).
    expect(pages.map((e) => e.userId)).toEqual(['u-preloaded', 'u-preloaded'])
    expect(pages[1].context.page.referrer).toBe(`${siteUrl}/shop#pricing`)

    const clicks = events
      .filter((e) => e.type === 'interaction' && e.name === 'click')
      .map((e) => e.properties)
    expect(clicks).toContainEqual({
      target: { selector: '#main > div > button', tag: 'button', text: 'Buy now' },
    })
    expect(clicks).toContainEqual({
      plan: 'pro',
      target: { selector: '#main > a', tag: 'a', text: 'Pricing', href: `${siteUrl}/shop#pricing` },
    })
    expect(clicks.map((c) => c.target.text)).toEqual(expect.arrayContaining(['Sign up', 'Next step']))
    const submit = events.find((e) => e.name === 'submit')!
    expect(submit.properties.target).toMatchObject({ selector: '#signup', tag: 'form', id: 'signup' })
    // Nothing typed into the form leaves the browser.
    const wire = JSON.stringify(events)
    expect(wire).not.toContain('secret-person')
    expect(wire).not.toContain('hunter2')

    for (const metric of ['FCP', 'TTFB', 'LCP']) {
      const vital = events.find((e) => e.type === 'performance' && e.name === metric)!
      expect(vital.properties).toMatchObject({
        unit: 'ms',
        rating: expect.any(String),
        navigationType: 'navigate',
      })
      expect(vital.properties.value).toBeGreaterThanOrEqual(0)
    }

    // One visit: one session, a messageId and a sentAt on every event, the library named.
    expect(new Set(events.map((e) => e.sessionId)).size).toBe(1)
    expect(new Set(events.map((e) => e.messageId)).size).toBe(events.length)
    for (const e of events) {
      expect(e.sentAt).toEqual(expect.any(String))
      expect(e.context.library.name).toBe('@tally/browser')
    }
  })

  it('should deliver events queued when the page is closed (sendBeacon on pagehide)', async () => {
    flushInterval = 60_000
    const context = await browser.newContext()
    const { page, anonymousId } = await openFixture(context)
    await page.evaluate(() => window.tally('track', 'Leaving', { step: 3 }))
    await page.close({ runBeforeUnload: true })
    const events = await eventsOf(anonymousId, (ev) => ev.some((e) => e.name === 'Leaving'))
    await context.close()
    flushInterval = 200
    expect(events.find((e) => e.name === 'Leaving')).toMatchObject({ type: 'track', properties: { step: 3 } })
  })

  it('should keep events in localStorage while offline and deliver them when back online', async () => {
    const context = await browser.newContext()
    const { page, anonymousId } = await openFixture(context)
    await eventsOf(anonymousId, (ev) => ev.some((e) => e.type === 'page'))
    await context.setOffline(true)
    await page.evaluate(() => window.tally.track('While offline', { n: 1 }))
    await page.evaluate(() => window.tally.flush())
    await page.waitForFunction(() => {
      const key = Object.keys(localStorage).find((k) => k.startsWith('tally_q:'))
      return key !== undefined && localStorage.getItem(key)!.includes('While offline')
    })
    expect((await readEvents()).some((e) => e.name === 'While offline')).toBe(false)
    await context.setOffline(false)
    const events = await eventsOf(anonymousId, (ev) => ev.some((e) => e.name === 'While offline'))
    expect(events.filter((e) => e.name === 'While offline')).toHaveLength(1)
    await page.waitForFunction(() => !Object.keys(localStorage).some((k) => k.startsWith('tally_q:')))
    await context.close()
  })

  it('should retry after a 503 with Retry-After, and drop a batch refused with 400', async () => {
    const context = await browser.newContext()
    const seen: string[] = []
    const times: number[] = []
    let answers = [503]
    await context.route(`${tallyHost}/api/v1/events`, async (route) => {
      if (route.request().method() !== 'POST') return route.continue()
      const body = route.request().postData() ?? ''
      const status = body.includes('Retry me') || body.includes('Refuse me') ? answers.shift() : undefined
      seen.push(
        `${status ?? 'pass'}:${body.includes('Retry me') ? 'retry' : body.includes('Refuse me') ? 'refuse' : 'other'}`,
      )
      if (body.includes('Retry me')) times.push(Date.now())
      if (status === undefined) return route.continue()
      return route.fulfill({
        status,
        headers: {
          'access-control-allow-origin': '*',
          'access-control-expose-headers': 'Retry-After',
          'retry-after': '1',
        },
        body: '{}',
      })
    })
    const { page, anonymousId } = await openFixture(context)
    await eventsOf(anonymousId, (ev) => ev.some((e) => e.type === 'page'))
    await page.evaluate(() => {
      window.tally.track('Retry me')
      window.tally.flush()
    })
    const events = await eventsOf(anonymousId, (ev) => ev.some((e) => e.name === 'Retry me'))
    expect(events.filter((e) => e.name === 'Retry me')).toHaveLength(1)
    expect(seen.filter((s) => s.endsWith(':retry'))).toEqual(['503:retry', 'pass:retry'])
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(900) // Retry-After: 1

    answers = [400]
    await page.evaluate(() => {
      window.tally.track('Refuse me')
      window.tally.flush()
    })
    await page.waitForFunction(() => !Object.keys(localStorage).some((k) => k.startsWith('tally_q:')))
    expect(seen.filter((s) => s.endsWith(':refuse'))).toEqual(['400:refuse'])
    await context.close()
  })

  it('should keep events a beacon could not deliver (server answering 503) and send them on the next page load', async () => {
    flushInterval = 60_000
    const context = await browser.newContext()
    // Every beacon (the page-hide route) is answered 503: the event can only arrive through the stored queue.
    await context.route(`${tallyHost}/v1/batch`, (route) =>
      route.fulfill({ status: 503, headers: { 'access-control-allow-origin': '*' }, body: '{}' }),
    )
    const { page, anonymousId } = await openFixture(context)
    await page.evaluate(() => window.tally('track', 'Beacon lost', { n: 1 }))
    await page.close({ runBeforeUnload: true })
    flushInterval = 200
    // The same visitor comes back: the stored queue is adopted and sent with a POST.
    const again = await context.newPage()
    await again.goto(`${siteUrl}/shop`)
    const events = await eventsOf(anonymousId, (ev) => ev.some((e) => e.name === 'Beacon lost'))
    expect(events.filter((e) => e.name === 'Beacon lost')).toHaveLength(1)
    await context.close()
  })

  it('should split a batch refused as too large (413) instead of dropping its events', async () => {
    const context = await browser.newContext()
    const sizes: number[] = []
    await context.route(`${tallyHost}/api/v1/events`, async (route) => {
      if (route.request().method() !== 'POST') return route.continue()
      const body = route.request().postData() ?? ''
      if (!body.includes('Big one')) return route.continue()
      const count = (body.match(/Big one/g) ?? []).length
      sizes.push(count)
      // A server with a small body limit: more than 8 of these events in one request is too large.
      if (count > 8)
        return route.fulfill({ status: 413, headers: { 'access-control-allow-origin': '*' }, body: '{}' })
      return route.continue()
    })
    const { page, anonymousId } = await openFixture(context)
    await eventsOf(anonymousId, (ev) => ev.some((e) => e.type === 'page'))
    await page.evaluate(() => {
      for (let i = 0; i < 30; i++) window.tally.track('Big one', { i, pad: 'x'.repeat(2000) })
      window.tally.flush()
    })
    const events = await eventsOf(anonymousId, (ev) => ev.filter((e) => e.name === 'Big one').length === 30)
    expect(events.filter((e) => e.name === 'Big one')).toHaveLength(30)
    // After the first 413, no request carried more than the server took.
    const first413 = sizes.findIndex((n) => n > 8)
    expect(first413).toBe(0)
    expect(Math.max(...sizes.slice(sizes.findLastIndex((n) => n > 8) + 1))).toBeLessThanOrEqual(8)
    await context.close()
  })

  it('should send the user agent, so the server parses it and flags headless browsers as bots', async () => {
    const context = await browser.newContext()
    const { anonymousId } = await openFixture(context)
    const [first] = await eventsOf(anonymousId, (ev) => ev.some((e) => e.type === 'page'))
    expect(first.context).toMatchObject({ userAgent: expect.stringContaining('HeadlessChrome'), bot: true })
    await context.close()
  })

  it('should beacon the events that fit when a large one is queued first', async () => {
    flushInterval = 60_000
    const context = await browser.newContext()
    const { page, anonymousId } = await openFixture(context)
    await page.evaluate(() => {
      window.tally('track', 'Huge', { pad: 'x'.repeat(70_000) }) // over the 60 KB a beacon may carry
      window.tally('track', 'Small after huge', { n: 1 })
    })
    await page.close({ runBeforeUnload: true })
    const events = await eventsOf(anonymousId, (ev) => ev.some((e) => e.name === 'Small after huge'))
    await context.close()
    flushInterval = 200
    expect(events.some((e) => e.name === 'Small after huge')).toBe(true)
  })
})
