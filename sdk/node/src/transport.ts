import { promisify } from 'node:util'
import { gzip as gzipCb } from 'node:zlib'
import { isRetryableStatus, type RetryPolicy, retryAfterMs, retryDelayMs } from '../../shared/retry.js'
import { type EventCreate, TallySdkError } from './types.js'

const gzip = promisify(gzipCb)

/** What `sendBatch` needs. */
export interface TransportOptions extends RetryPolicy {
  endpoint: string
  writeKey: string
  timeoutMs: number
  /** Gzip bodies larger than this many bytes; 0 turns compression off. */
  gzipAbove: number
  fetch: typeof fetch
  /** Waits between attempts; replaced in tests. */
  sleep: (ms: number) => Promise<void>
}

/** The server's per-batch answer (`BatchResult`), as far as the SDK reads it. */
interface BatchAnswer {
  accepted: number
  duplicates: number
  rejected: number
  results?: { index: number; status: string; errors?: unknown[] }[]
}

/**
 * POSTs one batch, retrying network errors, 408/429/5xx with backoff (honouring Retry-After). Every retry keeps
 * the events' messageIds (the server stores a retried event once), refreshes `sentAt` and says `X-Retry-Count`.
 * `json` holds each event already serialised. Resolves in every case; what could not be delivered comes back as a TallySdkError.
 */
export async function sendBatch(
  events: EventCreate[],
  json: string[],
  o: TransportOptions,
): Promise<TallySdkError | undefined> {
  const eventsJson = json.join(',')
  let lastError: unknown
  let lastStatus: number | undefined
  for (let attempt = 0; attempt <= o.maxRetries; attempt++) {
    const body0 = `{"events":[${eventsJson}],"sentAt":"${new Date().toISOString()}"}`
    const headers: Record<string, string> = {
      authorization: `Bearer ${o.writeKey}`,
      'content-type': 'application/json',
    }
    if (attempt > 0) headers['x-retry-count'] = String(attempt)
    let body: string | Uint8Array = body0
    if (o.gzipAbove > 0 && body0.length > o.gzipAbove) {
      body = await gzip(body0)
      headers['content-encoding'] = 'gzip'
    }
    let retryAfter: number | undefined
    try {
      const res = await o.fetch(o.endpoint, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(o.timeoutMs),
      })
      const text = await res.text()
      if (res.ok) return rejectedEvents(events, text)
      lastStatus = res.status
      if (!isRetryableStatus(res.status)) {
        return new TallySdkError(
          'batch_refused',
          `Tally refused the batch: HTTP ${res.status} ${text.slice(0, 500)}`,
          {
            status: res.status,
            events,
            body: parseJson(text),
          },
        )
      }
      lastError = new Error(`HTTP ${res.status}`)
      retryAfter = retryAfterMs(res.headers.get('retry-after'))
    } catch (err) {
      lastError = err
      lastStatus = undefined
    }
    if (attempt < o.maxRetries) await o.sleep(retryDelayMs(attempt, o, retryAfter))
  }
  return new TallySdkError(
    'delivery_failed',
    `Could not deliver ${events.length} event(s) after ${o.maxRetries + 1} attempts: ${String(lastError)}`,
    { status: lastStatus, events },
    { cause: lastError },
  )
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** A 200 can still reject single events (validation); those are reported, not retried (they would fail again). */
function rejectedEvents(events: EventCreate[], text: string): TallySdkError | undefined {
  const answer = parseJson(text) as BatchAnswer
  if (!answer || typeof answer !== 'object' || !(answer.rejected > 0)) return undefined
  const rejected = (answer.results ?? []).filter((r) => r.status === 'rejected')
  return new TallySdkError('events_rejected', `Tally rejected ${answer.rejected} event(s) as invalid`, {
    status: 200,
    events: rejected.map((r) => events[r.index]).filter((e) => e !== undefined),
    body: rejected,
  })
}
