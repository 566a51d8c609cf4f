import { createTracker, type Tracker } from './tracker.js'
import type { Persistence, TrackerOptions } from './types.js'

/**
 * The script-tag build. Configured by the tag's `data-*` attributes; calls made before it loaded through the
 * stub `window.tally = window.tally || function () { (tally.q = tally.q || []).push(arguments) }` are
 * replayed in order. Afterwards `tally('track', …)` and `tally.track(…)` both work.
 *
 * @example
 * <script async src="https://tally.example.com/tally.js" data-write-key="tly_w_…"></script>
 */
type Stub = ((...args: unknown[]) => void) & { q?: ArrayLike<unknown>[] }
const w = window as unknown as { tally?: Stub }
const script = document.currentScript as HTMLScriptElement | null
const data = script?.dataset ?? {}
const flag = (v: string | undefined) => (v === undefined ? undefined : v !== 'false')
const num = (v: string | undefined) => (v ? Number(v) : undefined)
const queued = Array.from(
  w.tally?.q ?? [],
  (args) => Array.from(args) as [keyof Tracker | 'init', ...unknown[]],
)
// A queued tally('init', { … }) supplies options the tag does not set.
const initArgs = queued.find((args) => args[0] === 'init')?.[1] as Partial<TrackerOptions> | undefined
const writeKey = data.writeKey ?? initArgs?.writeKey

if (writeKey) {
  const fromTag: Partial<TrackerOptions> = {
    host: data.host ?? (script?.src && !initArgs?.host ? new URL(script.src).origin : undefined),
    autoPageviews: flag(data.autoPageviews),
    webVitals: flag(data.webVitals),
    interactions: flag(data.interactions),
    persistence: data.persistence as Persistence | undefined,
    cookieDomain: data.cookieDomain,
    respectDoNotTrack: flag(data.respectDnt),
    flushAt: num(data.flushAt),
    flushInterval: num(data.flushInterval),
  }
  for (const k of Object.keys(fromTag) as (keyof TrackerOptions)[])
    if (fromTag[k] === undefined) delete fromTag[k]
  type Call = (...a: unknown[]) => unknown
  const invoke = (t: Tracker, method: keyof Tracker | 'init', args: unknown[]) =>
    (t[method as keyof Tracker] as Call | undefined)?.(...args)
  // Calls made before the script loaded run before the automatic first page view: a queued identify
  // came after it, and the page view went out without the visitor's userId (a trial).
  const tracker = createTracker({ ...initArgs, ...fromTag, writeKey }, (t) => {
    for (const [method, ...args] of queued) if (method !== 'init') invoke(t, method, args)
  })
  const api = Object.assign(
    (method: keyof Tracker, ...args: unknown[]) => invoke(tracker, method, args),
    tracker,
  )
  w.tally = api as unknown as Stub
} else {
  console.warn('[tally] the script tag needs data-write-key')
}
