/**
 * Dashboard load time from localhost on a large store, in Debian's headless Chromium.
 *
 * Seeds a SQLite store (kept in .bench-tmp/ and reused: seeding 1M events through the ingest route takes a
 * while) with the dashboard's realistic mix over 7 days, half of it in the last 24 hours, starts `tally`
 * on 127.0.0.1, and for every page measures a cold load in a fresh browser context (no cache, session key
 * preset): navigation start → the page's data rendered and every API call answered (the latest
 * `responseEnd` of all resources). Baseline in the same run: the login page, which is the same shell
 * (HTML + JS + CSS) without any API call; the ratio is what the data costs on top.
 *
 *   npx tsx bench/dashboard.ts [--events 1000000] [--runs 3] [--fresh]
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { Browser } from 'playwright-core'
import { createApp } from '../src/app/create-app.js'
import { loadConfig } from '../src/config/config.js'
import { seedEvents } from '../test/e2e/dashboard-seed.js'
import { launchChromium } from '../test/helpers/chromium.js'

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    fresh: { type: 'boolean', default: false },
  },
})
const EVENTS = Number(values.events)
const RUNS = Number(values.runs)
const KEYS = {
  write: 'tly_w_bench-dashboard-write-000',
  read: 'tly_r_bench-dashboard-read-0000',
  admin: 'tly_a_bench-dashboard-admin-000',
}
const DIR = new URL('../.bench-tmp/', import.meta.url).pathname
const DB = `${DIR}dashboard-${EVENTS}.db`
// Functions passed to page.evaluate / addInitScript / waitForFunction run in the page, where these exist.
declare const document: any
declare const sessionStorage: any

const PAGES = [
  { name: 'Overview, 24 h', path: '/', range: '24h', ready: '[data-testid="top-names"] tbody tr td.num' },
  { name: 'Overview, 7 d', path: '/', range: '7d', ready: '[data-testid="top-names"] tbody tr td.num' },
  { name: 'Overview, 30 d', path: '/', range: '30d', ready: '[data-testid="top-names"] tbody tr td.num' },
  {
    name: 'Performance, 24 h',
    path: '/performance',
    range: '24h',
    ready: '[data-testid="worst-pages"] tbody tr td.num',
  },
  {
    name: 'Performance, 7 d',
    path: '/performance',
    range: '7d',
    ready: '[data-testid="worst-pages"] tbody tr td.num',
  },
  { name: 'API, 24 h', path: '/api-requests', range: '24h', ready: '[data-testid="routes"] tbody tr td.num' },
  {
    name: 'Interactions, 24 h',
    path: '/interactions',
    range: '24h',
    ready: '[data-testid="interactions-click"] tbody tr td.num',
  },
  {
    name: 'Events explorer',
    path: '/events',
    range: '24h',
    ready: '[data-testid="events"] tbody tr td:nth-child(2)',
  },
  {
    name: 'Failed events',
    path: '/failed',
    range: '24h',
    ready: '[data-testid="failed-groups"] td.empty, [data-testid="failed-groups"] td.num',
  },
  { name: 'Schemas', path: '/schemas', range: '24h', ready: '[data-testid="schemas"] td' },
]

interface Sample {
  ms: number
  apiCalls: number
}

async function measure(
  browser: Browser,
  base: string,
  path: string,
  ready: string,
  range?: string,
): Promise<Sample> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const session = JSON.stringify({ key: KEYS.admin, role: 'admin', projectName: 'Default' })
  await context.addInitScript(
    ([s, r]) => {
      sessionStorage.setItem('tally.session', s)
      if (r) sessionStorage.setItem('tally.range', JSON.stringify({ preset: r }))
    },
    [session, range ?? ''] as const,
  )
  const page = await context.newPage()
  let apiCalls = 0
  let inflight = 0
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/')) {
      apiCalls++
      inflight++
    }
  })
  const done = (r: { url(): string }) => {
    if (new URL(r.url()).pathname.startsWith('/api/')) inflight--
  }
  page.on('requestfinished', done)
  page.on('requestfailed', done)
  await page.goto(`${base}${path}`)
  await page.locator(ready).first().waitFor({ timeout: 60_000 })
  while (inflight > 0) await page.waitForTimeout(5)
  const ms = await page.evaluate(() => {
    const ends = performance
      .getEntriesByType('resource')
      .map((e) => (e as unknown as { responseEnd: number }).responseEnd)
    return Math.max(0, ...ends)
  })
  await context.close()
  return { ms, apiCalls }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main(): Promise<void> {
  mkdirSync(DIR, { recursive: true })
  if (values.fresh) rmSync(DB, { force: true })
  const reuse = existsSync(DB)
  const app = await createApp(
    loadConfig({
      TALLY_DATABASE_URL: `sqlite:${DB}`,
      TALLY_LOG_LEVEL: 'silent',
      TALLY_WRITE_KEY: KEYS.write,
      TALLY_READ_KEY: KEYS.read,
      TALLY_ADMIN_KEY: KEYS.admin,
      TALLY_HOST: '127.0.0.1',
      TALLY_PORT: '0',
      TALLY_RATE_LIMIT_MAX: '0',
    }),
  )
  try {
    if (!reuse) {
      const t0 = performance.now()
      await seedEvents(app, KEYS.write, {
        events: EVENTS,
        days: 7,
        batchSize: 500,
        concurrency: 4,
        onProgress: (n) => {
          if (n % 50_000 === 0)
            process.stderr.write(`seeded ${n} (${Math.round(n / ((performance.now() - t0) / 1000))}/s)\n`)
        },
      })
      console.log(`seeded ${EVENTS} events in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
    }
    const base = await app.listen()
    const browser = await launchChromium()
    try {
      await measure(browser, base, '/', PAGES[0].ready, '24h') // warm the server (SQLite page cache, JIT)
      const shell: number[] = []
      for (let i = 0; i < RUNS; i++) {
        const context = await browser.newContext()
        const page = await context.newPage()
        await page.goto(`${base}/`)
        await page.getByLabel('API key').waitFor()
        shell.push(
          await page.evaluate(() =>
            Math.max(
              ...performance
                .getEntriesByType('resource')
                .map((e) => (e as unknown as { responseEnd: number }).responseEnd),
              performance.now(),
            ),
          ),
        )
        await context.close()
      }
      const baseline = median(shell)
      console.log(`\n${EVENTS.toLocaleString('en-US')} events, median of ${RUNS} cold loads`)
      console.log(`| page | load (ms) | API calls | ratio to shell |`)
      console.log(`|---|---|---|---|`)
      console.log(`| login page (shell only, baseline) | ${baseline.toFixed(0)} | 0 | 1.0 |`)
      for (const p of PAGES) {
        const samples: Sample[] = []
        for (let i = 0; i < RUNS; i++) samples.push(await measure(browser, base, p.path, p.ready, p.range))
        const ms = median(samples.map((s) => s.ms))
        console.log(
          `| ${p.name} | ${ms.toFixed(0)} | ${samples[0].apiCalls} | ${(ms / baseline).toFixed(1)} |`,
        )
      }
    } finally {
      await browser.close()
    }
  } finally {
    await app.close()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
