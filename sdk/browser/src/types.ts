import type { EventCreate } from '../../../src/schema/event-create.js'

/** Event shapes are the server's own (types only: nothing of the server is bundled). */
export type { EventCreate }

/** Where `anonymousId`, `userId` and the session live: `none` is cookieless (ids last one page load). */
export type Persistence = 'localStorage' | 'cookie' | 'none'

/**
 * Options of `init()`. Only `writeKey` is required; the script-tag build reads them from `data-*` attributes
 * (`data-write-key`, `data-host`, `data-auto-pageviews="false"`, …) and defaults `host` to the script's origin.
 *
 * @example
 * init({ host: 'https://tally.example.com', writeKey: 'tly_w_…', interactions: false })
 */
export interface TrackerOptions {
  /** Base URL of the Tally server. Default: the page's origin. */
  host?: string
  /** A write key of the project (`tly_w_…`). */
  writeKey: string
  /** Send a page view on load and on SPA history changes. Default true. */
  autoPageviews?: boolean
  /** Send LCP, INP, CLS, FCP and TTFB as `performance` events. Default true. */
  webVitals?: boolean
  /** Send clicks on links, buttons and `data-tally-*` elements and form submits. Default true. */
  interactions?: boolean
  /** Default `localStorage` (falling back to a first-party cookie when storage is blocked). */
  persistence?: Persistence
  /** Cookie domain when persisting in a cookie, e.g. `.example.com`. Default: the current host. */
  cookieDomain?: string
  /** Send nothing when the browser sends Do-Not-Track or Global Privacy Control. Default false. */
  respectDoNotTrack?: boolean
  /** Send once this many events are queued. Default 10. */
  flushAt?: number
  /** Send queued events at least this often, ms. Default 5,000. */
  flushInterval?: number
  /** First retry ceiling, ms (doubles per retry, full jitter, at least Retry-After). Default 1,000. */
  retryBaseDelayMs?: number
  /** Longest wait between retries, ms. Default 60,000. */
  retryMaxDelayMs?: number
  /** Most undelivered events kept (in localStorage across reloads); the oldest go first. Default 500. */
  maxQueuedEvents?: number
  /** Inactivity after which a new session starts, ms. Default 30 minutes. */
  sessionTimeoutMs?: number
}

/** Extra fields for a single call. */
export interface CallOptions {
  /** Overrides the event time (ISO-8601). */
  timestamp?: string
  /** Merged into the event's `context`. */
  context?: Record<string, unknown>
}
