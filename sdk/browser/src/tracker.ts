import { captureInteractions, watchHistory } from './autocapture.js'
import { type KeyValue, openStore, uuid } from './storage.js'
import { createTransport } from './transport.js'
import type { CallOptions, EventCreate, TrackerOptions } from './types.js'
import { captureVitals } from './vitals.js'

/** The version reported in `context.library`. */
export const VERSION = '0.1.0'

/** What `init()` returns and the script-tag build exposes as `window.tally`. */
export interface Tracker {
  /** A named user action. */
  track(name: string, properties?: Record<string, unknown>, options?: CallOptions): void
  /** A page view (sent automatically unless `autoPageviews: false`). */
  page(name?: string, properties?: Record<string, unknown>, options?: CallOptions): void
  /** Ties this browser to a known user; the user id is kept (per persistence) and sent with later events. */
  identify(userId: string, traits?: Record<string, unknown>, options?: CallOptions): void
  /** Forgets the user id, the anonymous id and the session (call on logout). */
  reset(): void
  /** Stops all tracking in this browser, remembered across visits, and drops queued events. */
  optOut(): void
  /** Undoes `optOut()`. */
  optIn(): void
  /** True while opted out, or when Do-Not-Track/GPC is honoured and set. */
  isOptedOut(): boolean
  /** Sends queued events now. */
  flush(): void
  /** The anonymous id (undefined while opted out). */
  anonymousId(): string | undefined
  /** The current session id. */
  sessionId(): string | undefined
}

const K = { anon: 'tally_aid', user: 'tally_uid', session: 'tally_sid', optout: 'tally_optout' }

function pageContext(referrer = document.referrer) {
  return {
    url: location.href,
    path: location.pathname,
    search: location.search,
    title: document.title,
    referrer,
  }
}

/**
 * Builds a tracker. Most pages want `init()` (one tracker per page) instead.
 *
 * @example
 * const tally = createTracker({ host: 'https://tally.example.com', writeKey: 'tly_w_…' })
 * tally.track('Signup', { plan: 'pro' })
 */
export function createTracker(
  options: TrackerOptions,
  /** Runs before the automatic first page view: the script tag replays identity calls queued before it loaded. */
  beforeFirstPage?: (tracker: Tracker) => void,
): Tracker {
  const o = { host: location.origin, persistence: 'localStorage' as const, ...options }
  const host = o.host.replace(/\/+$/, '')
  const store: KeyValue = openStore(o.persistence, o.cookieDomain)
  // The opt-out flag is kept even in cookieless mode (it stores no identifier).
  const flags = o.persistence === 'none' ? (openStore('localStorage') ?? store) : store
  const nav = navigator as Navigator & { globalPrivacyControl?: boolean }
  const privacySignal = !!o.respectDoNotTrack && (nav.doNotTrack === '1' || nav.globalPrivacyControl === true)
  const sessionTimeout = o.sessionTimeoutMs ?? 30 * 60_000
  const transport = createTransport({
    host,
    writeKey: o.writeKey,
    flushAt: o.flushAt ?? 10,
    flushInterval: o.flushInterval ?? 5000,
    baseDelayMs: o.retryBaseDelayMs ?? 1000,
    maxDelayMs: o.retryMaxDelayMs ?? 60_000,
    maxQueued: o.maxQueuedEvents ?? 500,
    persist: o.persistence !== 'none',
  })
  let pageReferrer = document.referrer

  const off = () => privacySignal || flags.get(K.optout) === '1'

  function anonymousId(): string {
    let id = store.get(K.anon)
    if (!id) {
      id = uuid()
      store.set(K.anon, id)
    }
    return id
  }

  /** The session id; a new one after `sessionTimeout` without events. */
  function sessionId(): string {
    const now = Date.now()
    const [id, last] = (store.get(K.session) ?? '').split('.')
    const current = id && now - Number(last) < sessionTimeout ? id : uuid()
    store.set(K.session, `${current}.${now}`)
    return current
  }

  function emit(
    type: EventCreate['type'],
    name: string | undefined,
    fields: Record<string, unknown>,
    call?: CallOptions,
  ) {
    if (off()) return
    const userId = store.get(K.user)
    const event = {
      type,
      ...(name === undefined ? null : { name }),
      ...fields,
      messageId: uuid(),
      anonymousId: anonymousId(),
      ...(userId ? { userId } : null),
      sessionId: sessionId(),
      timestamp: call?.timestamp ?? new Date().toISOString(),
      context: {
        page: pageContext(pageReferrer),
        locale: navigator.language,
        timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
        screen: { width: screen.width, height: screen.height, density: devicePixelRatio },
        library: { name: '@tally/browser', version: VERSION },
        // As Segment's analytics.js: the server parses it (browser, OS, device) and flags bots; it never
        // reads the request's User-Agent header, which for a Segment SDK on a server is the server's own.
        userAgent: navigator.userAgent,
        ...call?.context,
      },
    } as EventCreate
    transport.push(event)
  }

  const tracker: Tracker = {
    track: (name, properties, call) => emit('track', name, { properties: properties ?? {} }, call),
    page: (name, properties, call) =>
      emit('page', name, { properties: { ...pageContext(pageReferrer), ...properties } }, call),
    identify(userId, traits, call) {
      if (off()) return
      store.set(K.user, String(userId))
      emit('identify', undefined, { traits: traits ?? {} }, call)
    },
    reset() {
      for (const k of [K.anon, K.user, K.session]) store.del(k)
    },
    optOut() {
      flags.set(K.optout, '1')
      transport.clear()
      tracker.reset()
    },
    optIn: () => flags.del(K.optout),
    isOptedOut: off,
    flush: () => transport.flush(),
    anonymousId: () => (off() ? undefined : anonymousId()),
    sessionId: () => (off() ? undefined : store.get(K.session)?.split('.')[0]),
  }

  const hide = () => transport.flushOnHide()
  addEventListener('pagehide', hide)
  document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && hide())

  beforeFirstPage?.(tracker)
  if (o.autoPageviews !== false) {
    tracker.page()
    watchHistory((previous) => {
      pageReferrer = previous
      tracker.page()
    })
  }
  if (o.interactions !== false)
    captureInteractions((type, name, properties) => emit(type, name, { properties }))
  if (o.webVitals !== false) captureVitals((type, name, properties) => emit(type, name, { properties }))
  return tracker
}
