import { isRetryableStatus, retryAfterMs, retryDelayMs } from '../../shared/retry.js'
import { local, uuid } from './storage.js'
import type { EventCreate } from './types.js'

/** Tuning of the delivery queue (see TrackerOptions for the defaults). */
export interface TransportConfig {
  host: string
  writeKey: string
  flushAt: number
  flushInterval: number
  baseDelayMs: number
  maxDelayMs: number
  maxQueued: number
  /** Keep undelivered events in localStorage (off in cookieless mode). */
  persist: boolean
}

const QUEUE_PREFIX = 'tally_q:'
/**
 * What one page hide hands the browser: beacons and keepalive fetches share a 64 KB quota per page
 * (Chrome), so a second 60 KB beacon is refused. The rest waits in localStorage for the next page load.
 */
const BEACON_BYTES = 60_000
/** Most bytes of one batch POST: well under the server's default body limit (512 KB). */
const BATCH_BYTES = 256_000
const MAX_BATCH_EVENTS = 100

/** UTF-8 length of `s` (what the body limit counts). */
const utf8Bytes = (s: string): number => new Blob([s]).size

/**
 * The delivery queue: batches by count (100), bytes (256 KB) and time, POSTs to `/api/v1/events`, retries
 * network errors, 429 and 5xx with backoff (at least Retry-After) for as long as the page lives, splits a
 * batch refused with 413, drops batches refused with another 4xx, and on page hide sends what fits in one
 * `sendBeacon` (the Segment route, which takes the write key in a text/plain body: a beacon cannot carry an
 * Authorization header) — keeping every event stored until a POST of it is answered.
 *
 * Undelivered events are kept in localStorage under a key of this page load; a later page load adopts every
 * such key and sends them. A queue still alive in another tab may thus be sent twice: events carry their
 * messageId, and the server stores each messageId once.
 */
/** The queue's operations. */
export interface Transport {
  /** Queues an event (and sends when `flushAt` is reached, or after `flushInterval`). */
  push(event: EventCreate): void
  /** Sends what is queued now, unless waiting out a backoff (then the retry timer sends it). */
  flush(): void
  /** The page is going away: hand everything to the browser (beacon, else fetch keepalive). */
  flushOnHide(): void
  /** Drops every queued event (opt-out). */
  clear(): void
}

export function createTransport(c: TransportConfig): Transport {
  let q: EventCreate[] = []
  let timer: ReturnType<typeof setTimeout> | undefined
  let attempt = 0
  let backoffUntil = 0
  let sending = false
  /** Events per POST; halved after a 413, so a server with a smaller body limit gets smaller batches. */
  let batchCap = MAX_BATCH_EVENTS
  const key = QUEUE_PREFIX + uuid()
  const ls = c.persist ? local() : null

  const save = () => {
    if (!ls) return
    if (q.length === 0) ls.del(key)
    else ls.set(key, JSON.stringify(q))
  }
  const trim = () => {
    if (q.length > c.maxQueued) q.splice(0, q.length - c.maxQueued)
  }
  const remove = (events: EventCreate[]) => {
    const gone = new Set(events)
    q = q.filter((e) => !gone.has(e))
    save()
  }
  const schedule = (ms: number, replace?: boolean) => {
    if (timer !== undefined) {
      if (!replace) return
      clearTimeout(timer)
    }
    timer = setTimeout(() => {
      timer = undefined
      flush()
    }, ms)
  }

  function flush(): void {
    if (sending || q.length === 0) return
    const wait = backoffUntil - Date.now()
    if (wait > 0) {
      schedule(wait, true)
      return
    }
    clearTimeout(timer)
    timer = undefined
    // Oldest first, at most `batchCap` events and BATCH_BYTES: a 660 KB batch was refused whole (413).
    const batch: EventCreate[] = []
    let bytes = 0
    for (const e of q) {
      const n = utf8Bytes(JSON.stringify(e))
      if (batch.length >= batchCap || (batch.length > 0 && bytes + n > BATCH_BYTES)) break
      batch.push(e)
      bytes += n
    }
    void send(batch)
  }

  async function send(batch: EventCreate[]): Promise<void> {
    sending = true
    let retryAfter: number | undefined
    let retry = false
    try {
      const res = await fetch(`${c.host}/api/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${c.writeKey}` },
        body: JSON.stringify({ events: batch, sentAt: new Date().toISOString() }),
      })
      retry = isRetryableStatus(res.status)
      if (retry) retryAfter = retryAfterMs(res.headers.get('retry-after'))
      if (res.status === 413 && batch.length > 1) {
        // Too large for this server's limit: send it in halves rather than drop valid events.
        batchCap = Math.max(1, Math.floor(batch.length / 2))
        sending = false
        flush()
        return
      }
      // 2xx: delivered (events the server rejects as invalid would fail again); other 4xx: never retried.
    } catch {
      retry = true // network error, offline, CORS
    }
    sending = false
    if (retry) {
      backoffUntil = Date.now() + retryDelayMs(attempt++, c, retryAfter)
      schedule(backoffUntil - Date.now(), true)
      return
    }
    attempt = backoffUntil = 0
    remove(batch)
    if (q.length >= c.flushAt) flush()
    else if (q.length > 0) schedule(c.flushInterval)
  }

  function flushOnHide(): void {
    // One beacon, oldest events first, within the page's keepalive quota.
    const batch: EventCreate[] = []
    let bytes = 200 // the envelope
    for (const e of q) {
      const n = utf8Bytes(JSON.stringify(e)) + 1
      // Skip what does not fit (one large event must not hold back every later one); it stays stored.
      if (bytes + n > BEACON_BYTES) continue
      batch.push(e)
      bytes += n
    }
    if (batch.length === 0) return
    const body = JSON.stringify({ batch, writeKey: c.writeKey, sentAt: new Date().toISOString() })
    const url = `${c.host}/v1/batch`
    let ok = false
    try {
      ok = navigator.sendBeacon(url, body)
    } catch {}
    if (!ok) fetch(url, { method: 'POST', body, keepalive: true }).catch(() => {})
    // Nothing is removed: a beacon's fate cannot be observed (a server that is down or answers 503 loses
    // it), so every event stays stored until a POST is answered. The next page load (or this page, if it
    // comes back) sends them again; the server stores each messageId once.
    save()
  }

  // Adopt the queues left by earlier page loads (and other tabs: see above).
  if (ls) {
    const storage = window.localStorage
    for (let i = storage.length - 1; i >= 0; i--) {
      const k = storage.key(i)
      if (!k?.startsWith(QUEUE_PREFIX)) continue
      try {
        const events = JSON.parse(storage.getItem(k) ?? '[]')
        if (Array.isArray(events)) q.push(...events)
      } catch {}
      storage.removeItem(k)
    }
    // A tab still open writes its queue back, and the next page load adopts it again: keep one copy of
    // each message (copies multiplied across tabs until localStorage was full).
    const seen = new Set<unknown>()
    q = q.filter((e) => {
      const id = (e as { messageId?: unknown }).messageId
      if (id === undefined) return true
      if (seen.has(id)) return false
      seen.add(id)
      return true
    })
    trim()
    save()
    if (q.length > 0) setTimeout(flush)
  }
  addEventListener('online', () => {
    backoffUntil = 0
    flush()
  })

  return {
    push(event) {
      q.push(event)
      trim()
      save()
      if (q.length >= c.flushAt) flush()
      else schedule(c.flushInterval)
    },
    flush,
    flushOnHide,
    clear() {
      q = []
      save()
    },
  }
}
