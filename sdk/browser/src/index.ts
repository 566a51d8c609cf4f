import { createTracker, type Tracker } from './tracker.js'
import type { TrackerOptions } from './types.js'

export { createTracker, type Tracker, VERSION } from './tracker.js'
export type { CallOptions, EventCreate, Persistence, TrackerOptions } from './types.js'

let current: Tracker | undefined

/**
 * Starts the page's tracker (once; later calls return the same tracker).
 *
 * @example
 * import { init, track } from '@tally/browser'
 * init({ host: 'https://tally.example.com', writeKey: 'tly_w_…' })
 * track('Signup', { plan: 'pro' })
 */
export function init(options: TrackerOptions): Tracker {
  current ??= createTracker(options)
  return current
}

function call<K extends keyof Tracker>(method: K) {
  return ((...args: unknown[]) =>
    (current?.[method] as (...a: unknown[]) => unknown)?.(...args)) as Tracker[K]
}

/** The calls of the tracker started by `init()`; no-ops before it. */
export const track = call('track')
export const page = call('page')
export const identify = call('identify')
export const reset = call('reset')
export const optOut = call('optOut')
export const optIn = call('optIn')
export const flush = call('flush')
export const isOptedOut = call('isOptedOut')
export const anonymousId = call('anonymousId')
export const sessionId = call('sessionId')
