/**
 * A deterministic, realistic corpus of mixed Tally events for benchmarks (validate, pipeline, store,
 * HTTP). `generateCorpus(n, seed)` returns NDJSON lines; the same `(n, seed)` always gives the same lines.
 *
 * Mix (by weight): track 33%, page 27%, performance 15%, interaction 15%, api_request 8%, identify 1%,
 * screen 0.6%, group 0.25%, alias 0.15%. Each line is 300–800 bytes. ~200 distinct real-looking user
 * agents (Zipf-like popularity), page URLs with UTM parameters and referrers, string and numeric ids,
 * `timestamp`/`sentAt` pairs with network delay and, for some clients, clock skew. Every event is valid
 * against the built-in model.
 */

export type Rng = () => number

/** mulberry32: small, fast, good enough for test data. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const int = (rng: Rng, min: number, max: number) => min + Math.floor(rng() * (max - min + 1))
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]
const chance = (rng: Rng, p: number) => rng() < p
const hex = (rng: Rng, n: number) => {
  let s = ''
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(rng() * 16)]
  return s
}
const uuid = (rng: Rng) =>
  `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-${pick(rng, ['8', '9', 'a', 'b'])}${hex(rng, 3)}-${hex(rng, 12)}`

function weighted<T extends string>(rng: Rng, table: readonly (readonly [T, number])[]): T {
  let total = 0
  for (const [, w] of table) total += w
  let r = rng() * total
  for (const [v, w] of table) {
    r -= w
    if (r < 0) return v
  }
  return table[table.length - 1][0]
}

// ── user agents ─────────────────────────────────────────────────────────────────────────────────────
function buildUserAgents(): string[] {
  const uas: string[] = []
  const webkit = 'AppleWebKit/537.36 (KHTML, like Gecko)'
  for (let v = 112; v <= 131; v++) {
    uas.push(`Mozilla/5.0 (Windows NT 10.0; Win64; x64) ${webkit} Chrome/${v}.0.0.0 Safari/537.36`)
    uas.push(`Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) ${webkit} Chrome/${v}.0.0.0 Safari/537.36`)
    uas.push(`Mozilla/5.0 (X11; Linux x86_64) ${webkit} Chrome/${v}.0.0.0 Safari/537.36`)
    uas.push(
      `Mozilla/5.0 (Windows NT 10.0; Win64; x64) ${webkit} Chrome/${v}.0.0.0 Safari/537.36 Edg/${v}.0.${2000 + v * 7}.${v % 90}`,
    )
  }
  for (const android of [10, 11, 12, 13, 14]) {
    for (let v = 122; v <= 131; v++)
      uas.push(`Mozilla/5.0 (Linux; Android ${android}; K) ${webkit} Chrome/${v}.0.0.0 Mobile Safari/537.36`)
  }
  for (let v = 118; v <= 133; v++) {
    uas.push(`Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:${v}.0) Gecko/20100101 Firefox/${v}.0`)
    uas.push(`Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:${v}.0) Gecko/20100101 Firefox/${v}.0`)
    if (v % 2 === 0)
      uas.push(`Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:${v}.0) Gecko/20100101 Firefox/${v}.0`)
  }
  for (const v of ['16.6', '17.0', '17.1', '17.2', '17.3', '17.4', '17.5', '17.6', '18.0', '18.1', '18.2']) {
    uas.push(
      `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${v} Safari/605.1.15`,
    )
    const ios = v.replace('.', '_')
    uas.push(
      `Mozilla/5.0 (iPhone; CPU iPhone OS ${ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${v} Mobile/15E148 Safari/604.1`,
    )
    uas.push(
      `Mozilla/5.0 (iPad; CPU OS ${ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${v} Mobile/15E148 Safari/604.1`,
    )
  }
  uas.push(
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
    'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)',
    'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
  )
  return uas
}

/** The distinct user agents the corpus draws from (deterministic). */
export const USER_AGENTS: readonly string[] = buildUserAgents()

// Zipf-like popularity over a fixed shuffle, so a few agents dominate as on a real site.
const UA_CUMULATIVE: number[] = (() => {
  const weights = USER_AGENTS.map((_, i) => 1 / (i + 1) ** 0.9)
  let sum = 0
  return weights.map((w) => (sum += w))
})()
const UA_ORDER: number[] = (() => {
  const rng = createRng(0x5eed)
  const order = USER_AGENTS.map((_, i) => i)
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    ;[order[i], order[j]] = [order[j], order[i]]
  }
  return order
})()
function pickUserAgent(rng: Rng): string {
  const r = rng() * UA_CUMULATIVE[UA_CUMULATIVE.length - 1]
  let lo = 0
  let hi = UA_CUMULATIVE.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (UA_CUMULATIVE[mid] < r) lo = mid + 1
    else hi = mid
  }
  return USER_AGENTS[UA_ORDER[lo]]
}

// ── vocabulary ──────────────────────────────────────────────────────────────────────────────────────
const HOSTS = [
  'https://shop.example.com',
  'https://www.example.com',
  'https://app.example.io',
  'https://docs.example.io',
]
const PAGES = [
  ['/', 'Example — Home'],
  ['/pricing', 'Pricing — Example'],
  ['/products/wireless-headphones-x200', 'Wireless Headphones X200 | Example Shop'],
  ['/products/usb-c-hub-7-in-1', 'USB-C Hub 7-in-1 | Example Shop'],
  ['/category/audio', 'Audio | Example Shop'],
  ['/cart', 'Your cart'],
  ['/checkout/shipping', 'Checkout: shipping'],
  ['/blog/how-we-cut-lcp-in-half', 'How we cut LCP in half — Example Blog'],
  ['/docs/getting-started', 'Getting started · Example Docs'],
  ['/account/settings', 'Account settings'],
  ['/search', 'Search results'],
  ['/signup', 'Create your account'],
] as const
const REFERRERS = [
  '',
  '',
  'https://www.google.com/',
  'https://www.google.de/',
  'https://t.co/Xk3pQ9zLm2',
  'https://news.ycombinator.com/',
  'https://www.reddit.com/r/webdev/comments/1h2k3j/',
  'https://duckduckgo.com/',
  'https://www.bing.com/search?q=example+headphones',
  'https://www.linkedin.com/feed/',
]
const UTM = [
  'utm_source=newsletter&utm_medium=email&utm_campaign=black_friday_2026',
  'utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=example+shop',
  'utm_source=twitter&utm_medium=social&utm_campaign=launch_week',
  'utm_source=partner_blog&utm_medium=referral&utm_campaign=q4_push&utm_content=sidebar',
]
const LOCALES = ['en-US', 'en-GB', 'de-DE', 'fr-FR', 'es-ES', 'nl-NL', 'pt-BR', 'ja-JP']
const TIMEZONES = [
  'America/New_York',
  'Europe/London',
  'Europe/Berlin',
  'Europe/Paris',
  'America/Los_Angeles',
  'Asia/Tokyo',
]
const PRODUCTS = [
  ['sku-10021', 'Wireless Headphones X200', 'Audio', 129.99],
  ['sku-10456', 'USB-C Hub 7-in-1', 'Accessories', 49.5],
  ['sku-20011', 'Mechanical Keyboard K3', 'Peripherals', 89],
  ['sku-30990', 'Laptop Stand Aluminium', 'Accessories', 39.99],
  ['sku-41002', '4K Monitor 27"', 'Displays', 329],
] as const
const TRACK_NAMES = [
  'Product Viewed',
  'Product Added',
  'Order Completed',
  'Signed Up',
  'Checkout Started',
  'Search Performed',
  'Video Played',
  'Coupon Applied',
] as const
const ROUTES = [
  ['GET', '/api/products/:id'],
  ['GET', '/api/products'],
  ['POST', '/api/cart/items'],
  ['GET', '/api/users/:id'],
  ['PATCH', '/api/users/:id'],
  ['POST', '/api/orders'],
  ['DELETE', '/api/cart/items/:itemId'],
  ['GET', '/api/search'],
] as const
const TARGETS = [
  { selector: 'button#add-to-cart', tag: 'button', id: 'add-to-cart', text: 'Add to cart' },
  { selector: 'a.nav-link[href="/pricing"]', tag: 'a', text: 'Pricing', href: '/pricing' },
  { selector: 'form#signup > button[type=submit]', tag: 'button', text: 'Create account' },
  { selector: 'input#search', tag: 'input', id: 'search' },
  {
    selector: 'div.product-card:nth-child(3) > a',
    tag: 'a',
    text: 'USB-C Hub 7-in-1',
    href: '/products/usb-c-hub-7-in-1',
  },
  { selector: 'button.cookie-accept', tag: 'button', text: 'Accept all' },
]

// ── one event ───────────────────────────────────────────────────────────────────────────────────────
const TYPE_MIX = [
  ['track', 33],
  ['page', 27],
  ['performance', 15],
  ['interaction', 15],
  ['api_request', 8],
  ['identify', 1],
  ['screen', 0.6],
  ['group', 0.25],
  ['alias', 0.15],
] as const

const START_MS = Date.UTC(2026, 10, 20, 0, 0, 0)
const SPAN_MS = 7 * 24 * 3600 * 1000

interface Client {
  anonymousId: string
  userId: string | number | undefined
  userAgent: string
  locale: string
  timezone: string
  skewMs: number
  offsetMinutes: number
}

function makeClient(rng: Rng, index: number): Client {
  const known = chance(rng, 0.35)
  return {
    anonymousId: uuid(rng),
    userId: known ? (chance(rng, 0.15) ? 100000 + index : `usr_${hex(rng, 12)}`) : undefined,
    userAgent: pickUserAgent(rng),
    locale: pick(rng, LOCALES),
    timezone: pick(rng, TIMEZONES),
    skewMs: chance(rng, 0.1) ? int(rng, -120_000, 120_000) : 0,
    offsetMinutes: chance(rng, 0.05) ? pick(rng, [60, 120, -300, 330]) : 0,
  }
}

function iso(ms: number, offsetMinutes: number): string {
  if (offsetMinutes === 0) return new Date(ms).toISOString()
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 23)
  const sign = offsetMinutes < 0 ? '-' : '+'
  const abs = Math.abs(offsetMinutes)
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`
}

function pageContext(rng: Rng, withTitle: boolean) {
  const [path, title] = pick(rng, PAGES)
  const search = chance(rng, 0.3) ? `?${pick(rng, UTM)}` : ''
  const host = pick(rng, HOSTS)
  const page: Record<string, string> = { url: `${host}${path}${search}`, path }
  if (withTitle) page.title = title
  const referrer = pick(rng, REFERRERS)
  if (referrer !== '') page.referrer = referrer
  if (search !== '' && chance(rng, 0.3)) page.search = search
  return page
}

function trackProperties(rng: Rng, name: string): Record<string, unknown> {
  const [sku, productName, category, price] = pick(rng, PRODUCTS)
  switch (name) {
    case 'Order Completed': {
      const items = int(rng, 1, 2)
      const products = Array.from({ length: items }, () => {
        const [s, , , p] = pick(rng, PRODUCTS)
        return { product_id: s, price: p, quantity: int(rng, 1, 3) }
      })
      const revenue = Math.round(products.reduce((a, p) => a + p.price * p.quantity, 0) * 100) / 100
      return { order_id: `ord_${hex(rng, 10)}`, revenue, currency: 'EUR', products }
    }
    case 'Signed Up':
      return { plan: pick(rng, ['free', 'pro', 'team']), method: pick(rng, ['email', 'google', 'github']) }
    case 'Search Performed':
      return {
        query: pick(rng, ['headphones', 'usb hub', 'monitor 27', 'keyboard']),
        results: int(rng, 0, 120),
      }
    case 'Video Played':
      return {
        video_id: `vid_${hex(rng, 6)}`,
        position: int(rng, 0, 300),
        length: 312,
        autoplay: chance(rng, 0.2),
      }
    case 'Coupon Applied':
      return { coupon_id: pick(rng, ['BF2026', 'WELCOME10', 'FREESHIP']), discount: pick(rng, [5, 10, 15]) }
    default:
      return {
        product_id: sku,
        name: productName,
        category,
        price,
        currency: 'EUR',
        quantity: int(rng, 1, 3),
      }
  }
}

function perfProperties(rng: Rng, metric: string): Record<string, unknown> {
  const value =
    metric === 'CLS'
      ? Math.round(rng() * 40) / 100
      : metric === 'INP'
        ? int(rng, 24, 700)
        : metric === 'TTFB'
          ? int(rng, 40, 1800)
          : int(rng, 300, 6000)
  const good = metric === 'CLS' ? 0.1 : metric === 'INP' ? 200 : metric === 'TTFB' ? 800 : 2500
  const rating = value <= good ? 'good' : value <= good * 2 ? 'needs-improvement' : 'poor'
  return {
    value,
    unit: metric === 'CLS' ? 'score' : 'ms',
    rating,
    navigationType: pick(rng, ['navigate', 'navigate', 'reload', 'back-forward']),
    id: `v4-${int(rng, 1e12, 9e12)}-${int(rng, 1e12, 9e12)}`,
    delta: value,
  }
}

function makeEvent(rng: Rng, clients: Client[], i: number, n: number): Record<string, unknown> {
  const client = pick(rng, clients)
  const type = weighted(rng, TYPE_MIX)
  const t = START_MS + Math.floor((i / Math.max(1, n)) * SPAN_MS) + int(rng, 0, 999)
  const sent = t + int(rng, 5, 4000) + client.skewMs
  const ids: Record<string, unknown> = { anonymousId: client.anonymousId }
  if (client.userId !== undefined) ids.userId = client.userId
  const base: Record<string, unknown> = {
    type,
    messageId: chance(rng, 0.5) ? uuid(rng) : `msg-${hex(rng, 16)}`,
    ...ids,
    timestamp: iso(t + client.skewMs, client.offsetMinutes),
    sentAt: iso(sent, client.offsetMinutes),
  }
  const library = { name: 'tally-js', version: pick(rng, ['0.3.1', '0.4.0', '0.4.2']) }
  const browserContext = (withTitle = false) => ({
    userAgent: client.userAgent,
    locale: client.locale,
    page: pageContext(rng, withTitle),
    library,
  })
  switch (type) {
    case 'track': {
      const name = pick(rng, TRACK_NAMES)
      return { ...base, name, properties: trackProperties(rng, name), context: browserContext() }
    }
    case 'page': {
      const context = browserContext(true)
      const { path, referrer, title } = context.page
      const properties: Record<string, unknown> = { path, title }
      if (referrer !== undefined) properties.referrer = referrer
      const event: Record<string, unknown> = { ...base, properties, context }
      if (chance(rng, 0.5)) event.name = title.split(/ [—|·:] /)[0]
      return event
    }
    case 'performance': {
      const name = weighted(rng, [
        ['LCP', 3],
        ['INP', 3],
        ['CLS', 3],
        ['FCP', 2],
        ['TTFB', 2],
        ['hero_image_render', 1],
      ] as const)
      return { ...base, name, properties: perfProperties(rng, name), context: browserContext() }
    }
    case 'interaction': {
      const target = pick(rng, TARGETS)
      const name =
        target.tag === 'input'
          ? 'change'
          : target.selector.startsWith('form')
            ? 'submit'
            : pick(rng, ['click', 'click', 'click', 'view'])
      return { ...base, name, properties: { target }, context: browserContext() }
    }
    case 'api_request': {
      const [method, route] = pick(rng, ROUTES)
      const statusCode = weighted(rng, [
        ['200', 80],
        ['201', 6],
        ['304', 4],
        ['404', 5],
        ['422', 2],
        ['500', 2],
        ['503', 1],
      ] as const)
      const properties: Record<string, unknown> = {
        method,
        route,
        path: route.replace(':id', String(int(rng, 1, 99999))).replace(':itemId', `itm_${hex(rng, 6)}`),
        statusCode: Number(statusCode),
        durationMs: Math.round(rng() * 40000) / 100,
        responseBytes: int(rng, 120, 48000),
      }
      if (method !== 'GET' && method !== 'DELETE') properties.requestBytes = int(rng, 40, 4000)
      if (Number(statusCode) >= 500)
        properties.error = pick(rng, ['ECONNRESET upstream', 'Timeout after 30000ms', 'pool exhausted'])
      const event: Record<string, unknown> = {
        ...base,
        properties,
        context: {
          library: { name: 'tally-node', version: '0.4.0' },
          ip: `10.${int(rng, 0, 255)}.${int(rng, 0, 255)}.${int(rng, 1, 254)}`,
        },
      }
      if (chance(rng, 0.5)) event.name = `${method} ${route}`
      return event
    }
    case 'identify': {
      const userId = client.userId ?? `usr_${hex(rng, 12)}`
      return {
        ...base,
        userId,
        traits: {
          email: `user${int(rng, 1, 99999)}@example.org`,
          name: pick(rng, ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Katherine Johnson']),
          plan: pick(rng, ['free', 'pro', 'team']),
          createdAt: iso(t - int(rng, 1, 900) * 86_400_000, 0),
        },
        context: browserContext(),
      }
    }
    case 'screen':
      return {
        ...base,
        name: pick(rng, ['Home', 'Product Detail', 'Cart', 'Settings']),
        properties: { previous: pick(rng, ['Home', 'Search']) },
        context: {
          app: { name: 'Example Shop', version: pick(rng, ['5.2.0', '5.3.1']), build: int(rng, 500, 620) },
          device: {
            manufacturer: pick(rng, ['Apple', 'Samsung', 'Google']),
            model: pick(rng, ['iPhone15,3', 'SM-S918B', 'Pixel 8']),
          },
          os: { name: pick(rng, ['iOS', 'Android']), version: pick(rng, ['17.5', '14']) },
          screen: {
            width: pick(rng, [390, 412, 430]),
            height: pick(rng, [844, 915, 932]),
            density: pick(rng, [2, 3]),
          },
          locale: client.locale,
          library: { name: 'tally-react-native', version: '0.2.0' },
        },
      }
    case 'group':
      return {
        ...base,
        userId: client.userId ?? `usr_${hex(rng, 12)}`,
        groupId: chance(rng, 0.5) ? int(rng, 1000, 9999) : `org_${hex(rng, 8)}`,
        traits: {
          name: pick(rng, ['Acme GmbH', 'Globex Ltd', 'Initech']),
          industry: 'Software',
          employees: int(rng, 5, 5000),
          plan: 'team',
        },
        context: { library, locale: client.locale, userAgent: client.userAgent },
      }
    default:
      return {
        ...base,
        userId: client.userId ?? `usr_${hex(rng, 12)}`,
        previousId: client.anonymousId,
        context: { library, userAgent: client.userAgent, locale: client.locale, timezone: client.timezone },
      }
  }
}

export const CORPUS_MIN_BYTES = 300
export const CORPUS_MAX_BYTES = 800

/** Brings one event into the 300–800 byte band: pad with realistic context, trim optional detail. */
function fitSize(rng: Rng, event: Record<string, unknown>): string {
  let line = JSON.stringify(event)
  const context = (event.context ?? {}) as Record<string, unknown>
  event.context = context
  const pads: (() => void)[] = [
    () => (context.campaign = { source: 'newsletter', medium: 'email', name: 'black_friday_2026' }),
    () => (context.screen = { width: 1920, height: 1080, density: 1 }),
    () => (context.timezone = pick(rng, TIMEZONES)),
    () => (context.os = { name: 'Mac OS', version: '14.5' }),
    () => (event.integrations = { All: true, Mixpanel: false }),
  ]
  for (const pad of pads) {
    if (Buffer.byteLength(line) >= CORPUS_MIN_BYTES) break
    pad()
    line = JSON.stringify(event)
  }
  const page = context.page as Record<string, unknown> | undefined
  const trims: (() => void)[] = [
    () => page && delete page.title,
    () => page && delete page.referrer,
    () => page && delete page.search,
    () => delete context.library,
    () => delete (event.properties as Record<string, unknown> | undefined)?.referrer,
    () => delete (event.properties as Record<string, unknown> | undefined)?.title,
    () => delete context.page,
  ]
  for (const trim of trims) {
    if (Buffer.byteLength(line) <= CORPUS_MAX_BYTES) break
    trim()
    line = JSON.stringify(event)
  }
  return line
}

/**
 * `n` NDJSON lines (no trailing newline), the same for the same `(n, seed)`.
 * @example
 * const lines = generateCorpus(100_000, 42)
 */
export function generateCorpus(n: number, seed = 42): string[] {
  const rng = createRng(seed)
  const clients = Array.from({ length: Math.max(50, Math.ceil(n / 20)) }, (_, i) => makeClient(rng, i))
  const lines = new Array<string>(n)
  for (let i = 0; i < n; i++) lines[i] = fitSize(rng, makeEvent(rng, clients, i, n))
  return lines
}
