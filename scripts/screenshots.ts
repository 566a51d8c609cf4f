/**
 * Screenshots of every dashboard page into docs/screenshots/ (linked from the README), taken in Debian's
 * headless Chromium against a freshly seeded server. Run: `npm run build:dashboard && npm run screenshots`.
 * With TALLY_DASHBOARD_URL and TALLY_DASHBOARD_KEY set it shoots an already running server instead.
 */
import { mkdirSync } from 'node:fs'
import { seedEvents, seedFailedEvents } from '../test/e2e/dashboard-seed.js'
import { launchChromium } from '../test/helpers/chromium.js'
import { createTestApp, KEYS } from '../test/integration/http-helpers.js'

const SHOTS = [
  { file: 'overview', path: '/', ready: '[data-testid="overview-stats"] .stat-value >> text=/\\d/' },
  { file: 'performance', path: '/performance', ready: '[data-testid="worst-pages"] tbody tr >> nth=0' },
  { file: 'api', path: '/api-requests', ready: '[data-testid="routes"] tbody tr >> nth=0' },
  {
    file: 'interactions',
    path: '/interactions',
    ready: '[data-testid="interactions-click"] tbody tr >> nth=0',
  },
  { file: 'events', path: '/events', ready: '[data-testid="events"] tbody tr >> nth=0', click: true },
  { file: 'failed', path: '/failed', ready: '[data-testid="failed-groups"] tbody tr >> nth=0' },
  { file: 'schemas', path: '/schemas', ready: '[data-testid="schemas"] tbody tr >> nth=0' },
]

async function main(): Promise<void> {
  const outDir = new URL('../docs/screenshots/', import.meta.url)
  mkdirSync(outDir, { recursive: true })
  let base = process.env.TALLY_DASHBOARD_URL
  let key = process.env.TALLY_DASHBOARD_KEY ?? KEYS.admin
  let close = async () => {}
  if (!base) {
    const t = await createTestApp()
    await seedEvents(t.app, KEYS.write, { events: 3000 })
    await seedFailedEvents(t.app, KEYS)
    base = await t.app.listen()
    key = KEYS.admin
    close = () => t.close()
  }
  const browser = await launchChromium()
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 })
    await page.goto(`${base}/`)
    await page.screenshot({ path: new URL('login.png', outDir).pathname })
    await page.getByLabel('API key').fill(key)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('navigation', { name: 'Pages' }).waitFor()
    for (const shot of SHOTS) {
      await page.goto(`${base}${shot.path}`)
      await page.locator(shot.ready).first().waitFor({ timeout: 15_000 })
      if (shot.click) await page.locator('[data-testid="events"] tbody tr').first().click()
      await page.waitForLoadState('networkidle')
      await page.waitForTimeout(300) // charts draw on the next frame
      await page.screenshot({ path: new URL(`${shot.file}.png`, outDir).pathname, fullPage: true })
      console.log(`docs/screenshots/${shot.file}.png`)
    }
    // Narrow width: the same overview on a phone-sized viewport.
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(`${base}/`)
    await page.locator(SHOTS[0].ready).first().waitFor()
    await page.waitForLoadState('networkidle')
    await page.screenshot({ path: new URL('overview-narrow.png', outDir).pathname, fullPage: true })
    console.log('docs/screenshots/overview-narrow.png')
  } finally {
    await browser.close()
    await close()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
