import type { TallyApp } from '../../src/app/create-app.js'

/**
 * Realistic data for the dashboard's tests, screenshots and load benchmark: every event type, spread over
 * the last `days` days (denser in the last 24 hours so every range preset shows something), sent through
 * the real ingest route so enrichment and the statistics rollups are exercised as in production.
 */
export interface SeedOptions {
  /** Events to store (default 600). */
  events?: number
  /** Spread over this many days before `now` (default 7). */
  days?: number
  now?: number
  /** Events per ingest request (default 500). */
  batchSize?: number
  /** Ingest requests in flight at once (default 1); more lets the server group commits. */
  concurrency?: number
  /** Called after each batch with the number sent so far. */
  onProgress?: (sent: number) => void
}

const PAGES = ['/', '/pricing', '/docs', '/docs/install', '/blog/launch', '/checkout', '/account']
const TRACK_NAMES = ['Signed Up', 'Order Completed', 'Added to Cart', 'Search', 'Invite Sent']
const ROUTES = [
  { method: 'GET', route: '/api/products', base: 40 },
  { method: 'GET', route: '/api/products/:id', base: 25 },
  { method: 'POST', route: '/api/orders', base: 120 },
  { method: 'GET', route: '/api/users/:id', base: 30 },
  { method: 'DELETE', route: '/api/sessions/:id', base: 15 },
]
const TARGETS = [
  { selector: '#buy-now', tag: 'button', text: 'Buy now' },
  { selector: 'nav a.pricing', tag: 'a', text: 'Pricing' },
  { selector: '#search', tag: 'input' },
  { selector: 'footer a.docs', tag: 'a', text: 'Docs' },
]
const VITALS: { name: string; median: number; spread: number }[] = [
  { name: 'LCP', median: 2200, spread: 0.6 },
  { name: 'INP', median: 160, spread: 0.7 },
  { name: 'CLS', median: 0.07, spread: 0.9 },
  { name: 'FCP', median: 1500, spread: 0.5 },
  { name: 'TTFB', median: 500, spread: 0.7 },
]

/** A small deterministic PRNG (mulberry32), so every seeded server shows the same data. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** One event of mixed type (60% track/page, 15% performance, 15% interaction, 10% api_request, a few others). */
export function makeEvent(i: number, rand: () => number, now: number, days: number): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]
  // Half the events in the last 24 hours, the rest over the whole span; always in the past.
  const ageMs = rand() < 0.5 ? rand() * 86_400_000 : rand() * days * 0.99 * 86_400_000
  const user = Math.floor(rand() * 80)
  const path = pick(PAGES)
  const common = {
    messageId: `seed-${i}`,
    userId: `user-${user}`,
    sessionId: `session-${user}-${Math.floor(ageMs / 3_600_000)}`,
    timestamp: new Date(now - 1000 - ageMs).toISOString(),
    context: {
      page: { path, url: `https://shop.example${path}` },
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/130',
    },
  }
  const r = rand()
  if (r < 0.3) return { ...common, type: 'page', name: path === '/' ? 'Home' : path.slice(1) }
  if (r < 0.58) {
    const name = pick(TRACK_NAMES)
    return {
      ...common,
      type: 'track',
      name,
      properties: { total: Math.round(rand() * 200), plan: pick(['free', 'pro']) },
    }
  }
  if (r < 0.6)
    return {
      ...common,
      type: 'identify',
      traits: { plan: pick(['free', 'pro']), email: `user${user}@example.com` },
    }
  if (r < 0.75) {
    const v = pick(VITALS)
    const value = v.median * Math.exp((rand() * 2 - 1) * v.spread * 1.5 + (path === '/checkout' ? 0.6 : 0))
    return {
      ...common,
      type: 'performance',
      name: v.name,
      properties: { value: v.name === 'CLS' ? value : Math.round(value) },
    }
  }
  if (r < 0.9) {
    const submit = rand() < 0.25
    return {
      ...common,
      type: 'interaction',
      name: submit ? 'submit' : 'click',
      properties: {
        target: submit ? { selector: pick(['form#signup', 'form#checkout']), tag: 'form' } : pick(TARGETS),
      },
    }
  }
  if (r < 0.99) {
    const route = pick(ROUTES)
    const statusCode = rand() < 0.06 ? 500 : rand() < 0.1 ? 404 : 200
    return {
      ...common,
      type: 'api_request',
      properties: {
        method: route.method,
        route: route.route,
        statusCode,
        durationMs: Math.round(route.base * Math.exp(rand() * 1.6)),
      },
    }
  }
  if (r < 0.995) return { ...common, type: 'screen', name: pick(['Home', 'Settings']) }
  return { ...common, type: 'group', groupId: `org-${user % 7}`, traits: { name: `Org ${user % 7}` } }
}

/** Sends `events` generated events to the app with the write key; returns how many were accepted. */
export async function seedEvents(
  app: TallyApp,
  writeKey: string,
  options: SeedOptions = {},
): Promise<number> {
  const total = options.events ?? 600
  const days = options.days ?? 7
  const now = options.now ?? Date.now()
  const batchSize = options.batchSize ?? 500
  const rand = prng(42)
  let accepted = 0
  let next = 0
  let done = 0
  const worker = async () => {
    while (next < total) {
      const start = next
      const n = Math.min(batchSize, total - start)
      next += n
      const events = Array.from({ length: n }, (_, k) => makeEvent(start + k, rand, now, days))
      const res = await app.server.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: { authorization: `Bearer ${writeKey}`, 'content-type': 'application/json' },
        payload: { events },
      })
      if (res.statusCode !== 200) throw new Error(`seeding failed: ${res.statusCode} ${res.body}`)
      accepted += (res.json() as { accepted: number }).accepted
      done += n
      options.onProgress?.(done)
    }
  }
  await Promise.all(Array.from({ length: options.concurrency ?? 1 }, worker))
  return accepted
}

/**
 * Failed events of three kinds: malformed (missing name, wrong value type) and tracking-plan violations
 * (a `Signed Up` schema requiring `plan`, enforcement `block`). Leaves enforcement at `block` and the schema
 * registered, so switching enforcement to `allow` makes the plan violations replayable.
 */
export async function seedFailedEvents(app: TallyApp, keys: { write: string; admin: string }): Promise<void> {
  const admin = { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' }
  const check = (res: { statusCode: number; body: string }, what: string) => {
    if (res.statusCode >= 300) throw new Error(`${what}: ${res.statusCode} ${res.body}`)
  }
  check(
    await app.server.inject({
      method: 'PUT',
      url: `/api/v1/schemas/track/${encodeURIComponent('Signed Up')}/1-0-0`,
      headers: admin,
      payload: { type: 'object', required: ['plan'], properties: { plan: { enum: ['free', 'pro'] } } },
    }),
    'schema',
  )
  check(
    await app.server.inject({
      method: 'PATCH',
      url: '/api/v1/project/settings',
      headers: admin,
      payload: { enforcement: 'block' },
    }),
    'settings',
  )
  const now = Date.now()
  const events: Record<string, unknown>[] = []
  for (let i = 0; i < 12; i++)
    events.push({
      type: 'track',
      name: 'Signed Up',
      userId: `late-${i}`,
      properties: { referrer: 'ad' },
      timestamp: new Date(now - i * 60_000).toISOString(),
    })
  for (let i = 0; i < 6; i++)
    events.push({ type: 'track', userId: `nameless-${i}`, properties: { total: i } })
  for (let i = 0; i < 4; i++) events.push({ type: 'performance', name: 'LCP', properties: { value: 'slow' } })
  const res = await app.server.inject({
    method: 'POST',
    url: '/api/v1/events',
    headers: { authorization: `Bearer ${keys.write}`, 'content-type': 'application/json' },
    payload: { events },
  })
  check(res, 'failed events')
  const body = res.json() as { rejected: number }
  if (body.rejected !== events.length) throw new Error(`expected ${events.length} rejected, got ${res.body}`)
}
