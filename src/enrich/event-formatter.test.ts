import { describe, expect, it } from 'vitest'
import type { EventCreate } from '../schema/event-create.js'
import { DEFAULT_PROJECT_SETTINGS, type ProjectSettings } from '../store/project-types.js'
import { createEventFormatter } from './event-formatter.js'
import type { FormatContext } from './types.js'

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'
const RECEIVED = new Date('2026-11-27T12:00:00.000Z')

function setup(settings: Partial<ProjectSettings> = {}) {
  let n = 0
  const formatter = createEventFormatter({ generateId: () => `id-${++n}`, sessionSalt: 'salt' })
  const ctx: FormatContext = {
    projectId: 'p1',
    receivedAt: RECEIVED,
    clientIp: '198.51.100.23',
    settings: { ...DEFAULT_PROJECT_SETTINGS, ...settings },
    schema: null,
    warnings: [],
  }
  const format = (event: unknown, extra: Partial<FormatContext> = {}) =>
    formatter.format(deepFreeze(event) as EventCreate, { ...ctx, ...extra })
  const ok = (event: unknown, extra: Partial<FormatContext> = {}) => {
    const r = format(event, extra)
    if (r.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(r)}`)
    return r.event
  }
  return { format, ok }
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}

describe('createEventFormatter', () => {
  it('should produce the full stored event for a minimal track call', () => {
    const { ok } = setup()
    expect(ok({ type: 'track', name: ' Signed   Up ', userId: 42 })).toEqual({
      id: 'id-1',
      projectId: 'p1',
      type: 'track',
      name: 'Signed Up',
      messageId: 'id-1',
      userId: '42',
      anonymousId: null,
      sessionId: expect.stringMatching(/^[0-9a-f]{32}$/),
      groupId: null,
      previousId: null,
      timestamp: '2026-11-27T12:00:00.000Z',
      originalTimestamp: null,
      sentAt: null,
      receivedAt: '2026-11-27T12:00:00.000Z',
      properties: {},
      traits: null,
      context: { ip: '198.51.100.0' },
      status: 'received',
      error: null,
      attempts: 0,
      tags: [],
      schema: null,
      violations: [],
    })
  })

  it('should keep client ids, schema and validator warnings', () => {
    const { ok } = setup()
    const warning = { path: '/name', code: 'unknown_event' as const, message: 'not in the tracking plan' }
    const e = ok(
      {
        type: 'group',
        groupId: 7,
        anonymousId: 'a1',
        messageId: 99,
        sessionId: 'sess',
        traits: { plan: 'pro' },
      },
      { schema: { name: 'group/x', version: '1-0-0' }, warnings: [warning] },
    )
    expect(e).toMatchObject({ groupId: '7', messageId: '99', sessionId: 'sess', traits: { plan: 'pro' } })
    expect(e.schema).toEqual({ name: 'group/x', version: '1-0-0' })
    expect(e.violations).toEqual([warning])
  })

  it('should flag bots, and drop them when the project says so', () => {
    const bot = { type: 'page', anonymousId: 'a', context: { userAgent: GOOGLEBOT } }
    expect(setup().ok(bot).context).toMatchObject({ bot: true })
    expect(setup({ dropBots: true }).format(bot)).toEqual({ kind: 'drop', reason: 'bot' })
    expect(setup({ dropBots: true }).format({ ...bot, context: { userAgent: CHROME } }).kind).toBe('ok')
  })

  it('should use the header user agent only when the event names no library', () => {
    const { ok } = setup({ dropBots: true })
    const browser = ok({ type: 'page', anonymousId: 'a' }, { userAgent: CHROME })
    expect(browser.context).toMatchObject({
      userAgent: CHROME,
      userAgentData: { browser: { name: 'Chrome' } },
    })
    // A server SDK's request header (e.g. "node") would look like a bot: it is ignored.
    const server = ok(
      {
        type: 'track',
        name: 'Order Completed',
        userId: 'u',
        context: { library: { name: '@segment/analytics-node' } },
      },
      { userAgent: 'node' },
    )
    expect(server.context.userAgent).toBeUndefined()
    expect(server.context).not.toHaveProperty('bot')
  })

  it("should keep the browser's Client Hints sent as userAgentData beside the parsed facts (they were replaced, unnoted)", () => {
    const { ok } = setup()
    const hints = { brands: [{ brand: 'Google Chrome', version: '120' }], mobile: false, platform: 'Windows' }
    const event = ok({ type: 'page', anonymousId: 'a', context: { userAgent: CHROME, userAgentData: hints } })
    expect((event.context as Record<string, unknown>).userAgentData).toMatchObject({
      ...hints,
      browser: { name: 'Chrome' },
      os: { name: 'Windows' },
    })
    expect(event.violations).toEqual([])
    // A client value under a key the parser fills, or not an object at all, gives way — noted.
    const clash = ok({
      type: 'page',
      anonymousId: 'a',
      context: { userAgent: CHROME, userAgentData: { browser: 'Edge' } },
    })
    expect((clash.context as Record<string, unknown>).userAgentData).toMatchObject({
      browser: { name: 'Chrome' },
    })
    expect(clash.violations).toEqual([
      expect.objectContaining({ path: '/context/userAgentData/browser', code: 'format' }),
    ])
    const text = ok({ type: 'page', anonymousId: 'a', context: { userAgent: CHROME, userAgentData: 'x' } })
    expect((text.context as Record<string, unknown>).userAgentData).toMatchObject({
      browser: { name: 'Chrome' },
    })
    expect(text.violations).toEqual([
      expect.objectContaining({ path: '/context/userAgentData', code: 'type' }),
    ])
  })

  it('should reject out-of-window timestamps only in block mode', () => {
    const future = { type: 'track', name: 'x', userId: 'u', timestamp: '2026-11-28T12:00:00.000Z' }
    const warn = setup({ enforcement: 'warn' }).ok(future)
    expect(warn.violations).toEqual([
      expect.objectContaining({ code: 'timestamp_in_future', path: '/timestamp' }),
    ])
    expect(setup({ enforcement: 'block' }).format(future)).toEqual({
      kind: 'reject',
      errors: [expect.objectContaining({ code: 'timestamp_in_future' })],
    })
  })

  it('should correct skew from sentAt', () => {
    const e = setup().ok({
      type: 'track',
      name: 'x',
      userId: 'u',
      timestamp: '2026-11-27T03:00:00.000Z',
      sentAt: '2026-11-27T03:00:05.000Z',
    })
    expect(e).toMatchObject({
      timestamp: '2026-11-27T11:59:55.000Z',
      originalTimestamp: '2026-11-27T03:00:00.000Z',
    })
  })

  it('should anonymise the IP from context.ip or the request, or keep it raw on opt-in', () => {
    expect(
      setup().ok({ type: 'page', anonymousId: 'a', context: { ip: '2001:db8:1:2::3' } }).context.ip,
    ).toBe('2001:db8:1::')
    expect(
      setup().ok({ type: 'page', anonymousId: 'a' }, { clientIp: '::ffff:203.0.113.9' }).context.ip,
    ).toBe('203.0.113.0')
    expect(setup({ storeRawIp: true }).ok({ type: 'page', anonymousId: 'a' }).context.ip).toBe(
      '198.51.100.23',
    )
    expect(
      setup().ok({ type: 'page', anonymousId: 'a' }, { clientIp: undefined }).context,
    ).not.toHaveProperty('ip')
  })

  it('should drop an unparseable context.ip with a format violation', () => {
    const e = setup().ok({ type: 'page', anonymousId: 'a', context: { ip: 'my-laptop' } })
    expect(e.context).not.toHaveProperty('ip')
    expect(e.violations).toEqual([expect.objectContaining({ path: '/context/ip', code: 'format' })])
  })

  it('should fill page fields, campaign and referrer class from the URLs', () => {
    const e = setup().ok({
      type: 'page',
      anonymousId: 'a',
      context: {
        page: {
          url: 'https://www.shop.example/cart?UTM_SOURCE=news&utm_medium=email&utm_source=other&utm_campaign=x',
          referrer: 'https://www.google.co.uk/search?q=shoes',
        },
        campaign: { name: 'explicit' },
      },
    })
    expect(e.context.page).toEqual({
      url: 'https://www.shop.example/cart?UTM_SOURCE=news&utm_medium=email&utm_source=other&utm_campaign=x',
      referrer: 'https://www.google.co.uk/search?q=shoes',
      path: '/cart',
      host: 'www.shop.example',
      search: '?UTM_SOURCE=news&utm_medium=email&utm_source=other&utm_campaign=x',
      referrerHost: 'www.google.co.uk',
      referrerType: 'search',
    })
    expect(e.context.campaign).toEqual({ source: 'news', medium: 'email', name: 'explicit' })
  })

  it("should read a server-side page call's URL, referrer and title from its properties (Segment's Page spec)", () => {
    // analytics-node and the other server SDKs send no context.page: the page is in the properties.
    const e = setup().ok({
      type: 'page',
      name: 'Pricing',
      userId: 'u',
      properties: {
        url: 'https://shop.example/pricing?utm_source=google&utm_medium=cpc',
        referrer: 'https://www.google.com/search?q=shop',
        title: 'Pricing',
        path: 42, // not a string: not taken
      },
    })
    expect(e.context.page).toEqual({
      url: 'https://shop.example/pricing?utm_source=google&utm_medium=cpc',
      referrer: 'https://www.google.com/search?q=shop',
      title: 'Pricing',
      path: '/pricing',
      host: 'shop.example',
      search: '?utm_source=google&utm_medium=cpc',
      referrerHost: 'www.google.com',
      referrerType: 'search',
    })
    expect(e.context.campaign).toEqual({ source: 'google', medium: 'cpc' })
    expect(e.properties).toMatchObject({
      url: 'https://shop.example/pricing?utm_source=google&utm_medium=cpc',
    })
    // A client-sent context.page wins; other types never read their properties as a page.
    const sent = setup().ok({
      type: 'page',
      userId: 'u',
      properties: { url: 'https://other.example/x' },
      context: { page: { url: 'https://shop.example/a' } },
    })
    expect(sent.context.page).toMatchObject({ host: 'shop.example', path: '/a' })
    const track = setup().ok({
      type: 'track',
      name: 'Clicked',
      userId: 'u',
      properties: { url: 'https://x.example/' },
    })
    expect(track.context.page).toBeUndefined()
  })

  it('should keep explicit page fields and classify same-host referrers as internal', () => {
    const e = setup().ok({
      type: 'page',
      anonymousId: 'a',
      context: {
        page: { url: 'https://shop.example/a/b', path: '/custom', referrer: 'https://shop.example/' },
      },
    })
    expect(e.context.page).toMatchObject({ path: '/custom', host: 'shop.example', referrerType: 'internal' })
    expect(e.context.page).not.toHaveProperty('search')
  })

  it('should leave malformed URLs and referrers as sent with invalid_url violations', () => {
    const page = { url: 'shop.example/cart?utm_source=x', referrer: 'http://exa mple.com/' }
    const e = setup().ok({ type: 'page', anonymousId: 'a', context: { page } })
    expect(e.context.page).toEqual(page)
    expect(e.violations.map((v) => [v.path, v.code])).toEqual([
      ['/context/page/url', 'invalid_url'],
      ['/context/page/referrer', 'invalid_url'],
    ])
  })

  it('should redact properties, traits and context but never ids', () => {
    const e = setup({ redactKeys: ['dob'] }).ok({
      type: 'identify',
      userId: 'ann@example.com',
      traits: { email: 'ann@example.com', DOB: '1990-01-01', cards: [{ number: '4242 4242 4242 4242' }] },
      context: { page: { url: 'https://shop.example/?email=ann@example.com' }, auth: { Token: 'abc' } },
    })
    expect(e.userId).toBe('ann@example.com')
    expect(e.traits).toEqual({ email: '[redacted]', DOB: '[redacted]', cards: [{ number: '[redacted]' }] })
    expect(e.context.page).toMatchObject({
      url: 'https://shop.example/?email=[redacted]',
      search: '?email=[redacted]',
    })
    expect((e.context as Record<string, unknown>).auth).toEqual({ Token: '[redacted]' })
  })

  it("should keep the traits a project exempts from redaction (Segment's email trait)", () => {
    const e = setup({ redactExemptKeys: ['email'] }).ok({
      type: 'identify',
      userId: 'u1',
      traits: { email: 'ann@example.com', bio: 'write to ann@example.com', password: 'x' },
    })
    expect(e.traits).toEqual({ email: 'ann@example.com', bio: 'write to [redacted]', password: '[redacted]' })
  })

  it('should apply the name case policy to track, page and screen names only', () => {
    const { ok } = setup({ nameCase: 'snake_case' })
    expect(ok({ type: 'track', name: 'Order Completed', userId: 'u' }).name).toBe('order_completed')
    expect(ok({ type: 'performance', name: 'LCP', userId: 'u', properties: { value: 1 } }).name).toBe('LCP')
  })

  it('should reject a required name that is only whitespace and null a blank page name', () => {
    const { format, ok } = setup()
    expect(format({ type: 'track', name: '   ', userId: 'u' })).toMatchObject({
      kind: 'reject',
      errors: [{ code: 'min_length' }],
    })
    expect(ok({ type: 'page', name: ' ', userId: 'u' }).name).toBeNull()
  })

  it('should normalise api_request route, method and name', () => {
    const e = setup().ok({
      type: 'api_request',
      userId: 'u',
      properties: { method: 'GET', route: '/users/:id/?x=1', statusCode: 200, durationMs: 12 },
    })
    expect(e.name).toBe('GET /users/:id')
    expect(e.properties).toEqual({ method: 'GET', route: '/users/:id', statusCode: 200, durationMs: 12 })
  })

  it('should re-derive a name the validator derived from the un-normalised route, and keep a custom one', () => {
    const { ok } = setup()
    const properties = { method: 'GET', route: '/users/:id/', statusCode: 200, durationMs: 1 }
    expect(ok({ type: 'api_request', name: 'GET /users/:id/', userId: 'u', properties }).name).toBe(
      'GET /users/:id',
    )
    expect(ok({ type: 'api_request', name: 'Get user', userId: 'u', properties }).name).toBe('Get user')
  })

  it('should default the unit and compute the rating of web vitals, keeping explicit values', () => {
    const { ok } = setup()
    expect(
      ok({ type: 'performance', name: 'CLS', userId: 'u', properties: { value: 0.3 } }).properties,
    ).toEqual({
      value: 0.3,
      unit: 'score',
      rating: 'poor',
    })
    expect(
      ok({ type: 'performance', name: 'LCP', userId: 'u', properties: { value: 9000, rating: 'good' } })
        .properties,
    ).toEqual({
      value: 9000,
      unit: 'ms',
      rating: 'good',
    })
    expect(
      ok({ type: 'performance', name: 'render', userId: 'u', properties: { value: 5 } }).properties,
    ).toEqual({
      value: 5,
      unit: 'ms',
    })
  })

  it('should trim and cap interaction target text', () => {
    const e = setup().ok({
      type: 'interaction',
      name: 'click',
      userId: 'u',
      properties: { target: { tag: 'button', text: `  Buy \n now ${'!'.repeat(400)}` } },
    })
    const target = (e.properties as { target: { tag: string; text: string } }).target
    expect(target.tag).toBe('button')
    expect(target.text.startsWith('Buy now !')).toBe(true)
    expect(target.text).toHaveLength(256)
  })

  it('should derive one session per visitor while active, and none when disabled', () => {
    const { ok } = setup()
    const a = ok({ type: 'page', anonymousId: 'v1', timestamp: '2026-11-27T11:00:00.000Z' }).sessionId
    const b = ok({ type: 'page', anonymousId: 'v1', timestamp: '2026-11-27T11:20:00.000Z' }).sessionId
    const c = ok({ type: 'page', anonymousId: 'v1', timestamp: '2026-11-27T11:55:00.000Z' }).sessionId
    expect(b).toBe(a)
    expect(c).not.toBe(a)
    expect(setup({ deriveSessionId: false }).ok({ type: 'page', anonymousId: 'v1' }).sessionId).toBeNull()
  })

  it('should generate UUIDv7 ids by default', () => {
    const formatter = createEventFormatter()
    const ctx = {
      projectId: 'p',
      receivedAt: RECEIVED,
      settings: DEFAULT_PROJECT_SETTINGS,
      schema: null,
      warnings: [],
    }
    const r1 = formatter.format({ type: 'track', name: 'x', userId: 'u' }, ctx)
    const r2 = formatter.format({ type: 'track', name: 'x', userId: 'u' }, ctx)
    if (r1.kind !== 'ok' || r2.kind !== 'ok') throw new Error('expected ok')
    expect(r1.event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(r2.event.id > r1.event.id).toBe(true)
  })
})
