import { execFileSync } from 'node:child_process'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, skipBrowserTests } from '../helpers/chromium.js'
import { createTestApp, KEYS, type TestApp } from '../integration/http-helpers.js'
import { seedEvents, seedFailedEvents } from './dashboard-seed.js'

// Functions passed to page.evaluate / addInitScript / waitForFunction run in the page, where these exist.
declare const document: any
declare const sessionStorage: any

const SEEDED = 600

describe.skipIf(skipBrowserTests)('dashboard in headless Chromium', () => {
  let t: TestApp
  let base: string
  let browser: Browser
  let page: Page

  const api = async <T>(path: string, key: string = KEYS.read): Promise<T> => {
    const res = await t.app.server.inject({ url: path, headers: { authorization: `Bearer ${key}` } })
    return res.json() as T
  }
  const rows = (testId: string) => page.locator(`[data-testid="${testId}"] tbody tr`)
  const go = async (label: string) => {
    await page
      .getByRole('navigation', { name: 'Pages' })
      .getByRole('link', { name: label, exact: true })
      .click()
    await page.getByRole('heading', { level: 1, name: label }).waitFor()
  }

  beforeAll(async () => {
    // The served build must be this source: vite build is ~3 s (type checks run in `npm run build:dashboard`).
    execFileSync(
      process.execPath,
      ['node_modules/vite/bin/vite.js', 'build', 'dashboard', '--logLevel', 'error'],
      {
        stdio: 'pipe',
      },
    )
    t = await createTestApp()
    expect(await seedEvents(t.app, KEYS.write, { events: SEEDED })).toBe(SEEDED)
    await seedFailedEvents(t.app, KEYS)
    base = await t.app.listen()
    browser = await launchChromium()
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.setDefaultTimeout(10_000)
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  it('should refuse unknown and write keys, then log in with the admin key kept in session storage', async () => {
    await page.goto(`${base}/`)
    const key = page.getByLabel('API key')
    await key.fill('tly_r_not-a-real-key-000000000')
    await page.getByRole('button', { name: 'Log in' }).click()
    await expect(page.getByRole('alert').textContent()).resolves.toContain('unknown or revoked')
    await key.fill(KEYS.write)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('alert').filter({ hasText: 'write key' }).waitFor()

    await key.fill(KEYS.admin)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('navigation', { name: 'Pages' }).waitFor()
    expect(await page.evaluate(() => sessionStorage.getItem('tally.session'))).toContain(KEYS.admin)
    // A reload keeps the session (and a deep link is answered with the app, not a 404).
    await page.goto(`${base}/events`)
    await page.getByRole('heading', { level: 1, name: 'Events' }).waitFor()
  })

  it('should show the overview totals the API gives, the stacked chart and the top names', async () => {
    await go('Overview')
    await page.getByRole('combobox', { name: /^Range/ }).selectOption('7d')
    const overview = await api<{ total: number; failedEvents: number }>(
      `/api/v1/stats/overview?from=${new Date(Date.now() - 7 * 86_400_000).toISOString()}`,
    )
    expect(overview.total).toBe(SEEDED)
    const stats = page.locator('[data-testid="overview-stats"]')
    await stats.getByText('600', { exact: true }).waitFor()
    await stats.getByText(String(overview.failedEvents), { exact: true }).waitFor()
    await page.getByRole('img', { name: 'Events over time, stacked by type' }).locator('canvas').waitFor()
    expect(await rows('top-names').count()).toBeGreaterThan(3)
    expect(await rows('by-type').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('api_request')]),
    )
  })

  it('should show web vitals with rating shares, the percentile chart and the worst pages', async () => {
    await go('Performance')
    await rows('vitals').filter({ hasText: 'LCP' }).waitFor()
    expect(await rows('vitals').count()).toBe(5)
    await page.locator('.shares').first().waitFor()
    await page
      .getByRole('img', { name: /LCP p50, p75 and p95 over time/ })
      .locator('canvas')
      .waitFor()
    await rows('worst-pages').filter({ hasText: '/checkout' }).waitFor()
  })

  it('should sort the API routes table and chart the selected route', async () => {
    await go('API')
    // Until the statistics arrive the table holds one "no data" row: wait for the five routes themselves.
    await expect.poll(() => rows('routes').count(), { timeout: 10_000 }).toBe(5)
    await page.getByRole('button', { name: /^p95/ }).click() // descending first
    const p95 = await rows('routes').locator('td:nth-child(7)').allTextContents()
    const ms = p95.map((s) => Number.parseFloat(s) * (s.endsWith(' s') ? 1000 : 1))
    expect(ms).toEqual([...ms].sort((a, b) => b - a))
    expect(await page.locator('th[aria-sort="descending"]').textContent()).toContain('p95')
    await rows('routes').filter({ hasText: '/api/orders' }).click()
    await page
      .getByRole('img', { name: /Latency percentiles of POST \/api\/orders/ })
      .locator('canvas')
      .waitFor()
  })

  it('should list the top clicked targets and submitted forms', async () => {
    await go('Interactions')
    await rows('interactions-click').filter({ hasText: '#buy-now' }).waitFor()
    await rows('interactions-submit').filter({ hasText: 'form#' }).first().waitFor()
  })

  it('should filter the explorer, page through results, and show an event as JSON from the keyboard', async () => {
    await go('Events')
    await rows('events').first().waitFor()
    const form = page.getByRole('form', { name: 'Event filters' })
    await form.getByLabel('api_request').check()
    await form.getByRole('button', { name: 'Add predicate' }).click()
    await form.getByLabel('Path').fill('properties.statusCode')
    await form.getByLabel('Operator').selectOption('gte')
    await form.getByLabel('Value').fill('500')
    await form.getByLabel('Page size').selectOption('25')
    await form.getByRole('button', { name: 'Apply filters' }).click()

    const expected = await api<{ events: { id: string }[] }>(
      `/api/v1/events?types=api_request&limit=1000&where=${encodeURIComponent('[{"path":"properties.statusCode","op":"gte","value":500}]')}`,
    )
    expect(expected.events.length).toBeGreaterThan(0)
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="events"] tbody tr').length === n,
      Math.min(25, expected.events.length),
    )
    const types = await rows('events').locator('td:nth-child(2)').allTextContents()
    expect(new Set(types)).toEqual(new Set(['api_request']))

    // Keyboard: focus the first row, move down, open it with Enter.
    await rows('events').first().focus()
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('Enter')
    const detail = page.getByRole('region', { name: /^Event .* as JSON$/ })
    await detail.getByText('"statusCode": 500').waitFor()
    expect(await detail.textContent()).toContain(`"id": "${expected.events[1].id}"`)

    // Paging: the unfiltered list, 25 per page, keyset cursors forward and back.
    await form.getByRole('button', { name: 'Clear' }).click()
    await form.getByLabel('Page size').selectOption('25')
    await form.getByRole('button', { name: 'Apply filters' }).click()
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="events"] tbody tr').length === 25,
    )
    const first = await rows('events').first().textContent()
    await page.getByRole('button', { name: 'Next →' }).click()
    await page.getByRole('heading', { name: 'Events — page 2' }).waitFor()
    await page.waitForFunction(
      (txt) => document.querySelector('[data-testid="events"] tbody tr')?.textContent !== txt,
      first,
    )
    expect(await rows('events').count()).toBe(25)
    await page.getByRole('button', { name: '← Previous' }).click()
    await page.getByRole('heading', { name: 'Events — page 1' }).waitFor()
    await page.waitForFunction(
      (txt) => document.querySelector('[data-testid="events"] tbody tr')?.textContent === txt,
      first,
    )
  })

  it('should export the current filter as NDJSON', async () => {
    const form = page.getByRole('form', { name: 'Event filters' })
    await form.getByLabel('Names').fill('Signed Up')
    await form.getByRole('button', { name: 'Apply filters' }).click()
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export NDJSON' }).click(),
    ])
    expect(download.suggestedFilename()).toBe('tally-events.ndjson')
    const path = await download.path()
    const { readFileSync } = await import('node:fs')
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string })
    const expected = await api<{ events: unknown[] }>('/api/v1/events?names=Signed%20Up&limit=1000')
    expect(lines).toHaveLength(expected.events.length)
    expect(new Set(lines.map((l) => l.name))).toEqual(new Set(['Signed Up']))
  })

  it('should let an admin relax enforcement and replay the failed events that now pass', async () => {
    await go('Schemas')
    await rows('schemas').filter({ hasText: 'Signed Up' }).waitFor()
    await page.getByLabel(/^allow/).check()
    await page.getByRole('button', { name: 'Save mode' }).click()
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor()
    expect((await api<{ settings: { enforcement: string } }>('/api/v1/project')).settings.enforcement).toBe(
      'allow',
    )

    await go('Failed events')
    await rows('failed-groups').filter({ hasText: 'schema_violation' }).click()
    await page.getByText('"referrer": "ad"').first().waitFor() // the raw payload
    await page.getByRole('button', { name: 'Replay events with code schema_violation' }).click()
    const result = page.locator('[data-testid="replay-result"]')
    await result.waitFor()
    expect(await result.textContent()).toContain('replayed 12')
    await rows('failed-groups').filter({ hasText: 'schema_violation' }).waitFor({ state: 'detached' })
    const stored = await api<{ events: unknown[] }>('/api/v1/events?userId=late-3')
    expect(stored.events).toHaveLength(1)
  })

  it('should hide admin actions from a read key', async () => {
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.getByLabel('API key').fill(KEYS.read)
    await page.getByRole('button', { name: 'Log in' }).click()
    await go('Failed events')
    await rows('failed-groups').first().waitFor()
    expect(await page.getByRole('button', { name: /Replay/ }).count()).toBe(0)
    await go('Schemas')
    await rows('schemas').first().waitFor()
    expect(await page.getByRole('button', { name: 'Save mode' }).count()).toBe(0)
  })
})
