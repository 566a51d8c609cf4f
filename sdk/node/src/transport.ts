import { promisify } from 'node:util'
import { gzip as gzipCb } from 'node:zlib'
import { isRetryableStatus, type RetryPolicy, retryAfterMs, retryDelayMs } from '../../shared/retry.js'
import { BatchBuffer } from './batch.js'
import { isoTime } from './clock.js'
import { type EventCreate, TallySdkError } from './types.js'

const gzip = promisify(gzipCb)
/**
 * zlib level 1: on batches of api_request events it compresses within ~2% of the default level 6 at half
 * the CPU (100 events, 32 KB: 2.1 KB in 54 µs vs 2.1 KB in 109 µs).
 */
const GZIP_OPTIONS = { level: 1 }

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
  /**
   * Epoch ms past which no attempt starts and a running one is cut short (a closing client); asked before
   * each attempt, so a close() during a batch's retries applies to that batch too.
   */
  deadline?: () => number
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
 * The batch holds its events already serialised. Resolves in every case; what could not be delivered comes
 * back as TallySdkErrors whose `details.events` are parsed back from the batch.
 */
export async function sendBatch(batch: BatchBuffer, o: TransportOptions): Promise<TallySdkError[]> {
  const outcome = await sendOnce(batch, o)
  if (outcome !== TOO_LARGE) return outcome === undefined ? [] : [outcome]
  // The server's limits are its own (TALLY_BODY_LIMIT, TALLY_MAX_EVENTS_PER_REQUEST): a batch it refuses as
  // too large is sent again in halves, down to single events, as the browser SDK does. It was dropped
  // whole (a trial: 500 events lost to one 413 from a server with a 64 KB body limit).
  const [first, second] = halves(batch)
  return [...(await sendBatch(first, o)), ...(await sendBatch(second, o))]
}

/** The server refused a batch of several events as too large: send it in halves. */
const TOO_LARGE = Symbol('too large')

/** Two batches of the events of `batch`, in order (the first holding the odd one). */
function halves(batch: BatchBuffer): [BatchBuffer, BatchBuffer] {
  const all = events(batch)
  const cut = Math.ceil(all.length / 2)
  const make = (part: unknown[]) => {
    const b = new BatchBuffer(1024)
    for (const event of part) {
      b.begin()
      b.text(JSON.stringify(event))
      b.commit()
    }
    return b
  }
  return [make(all.slice(0, cut)), make(all.slice(cut))]
}

/** Whether an answer refuses the batch for its size: 413, or Segment-style 400 `payload_too_large`. */
function refusedAsTooLarge(status: number, text: string): boolean {
  if (status === 413) return true
  const body = parseJson(text) as { error?: { code?: unknown } } | undefined
  return status === 400 && body?.error?.code === 'payload_too_large'
}

async function sendOnce(
  batch: BatchBuffer,
  o: TransportOptions,
): Promise<TallySdkError | undefined | typeof TOO_LARGE> {
  let lastError: unknown
  let lastStatus: number | undefined
  const deadline = o.deadline ?? (() => Number.POSITIVE_INFINITY)
  for (let attempt = 0; attempt <= o.maxRetries; attempt++) {
    const left = deadline() - Date.now()
    if (left <= 0) {
      lastError ??= new Error('closeTimeoutMs passed before the batch could be delivered')
      break
    }
    // The first attempt sends a view of the batch's buffer; a retry a copy, in case the previous attempt's
    // body is still referenced (a timed-out request, a custom fetch).
    const view = batch.body(isoTime())
    const body0 = attempt === 0 ? view : Buffer.from(view)
    const headers: Record<string, string> = {
      authorization: `Bearer ${o.writeKey}`,
      'content-type': 'application/json',
    }
    if (attempt > 0) headers['x-retry-count'] = String(attempt)
    let body: Uint8Array = body0
    if (o.gzipAbove > 0 && body0.length > o.gzipAbove) {
      body = await gzip(body0, GZIP_OPTIONS)
      headers['content-encoding'] = 'gzip'
    }
    let retryAfter: number | undefined
    // As AbortSignal.timeout(), but the timer is cleared once the answer is read (AbortSignal.timeout's
    // stays pending until it fires, one per batch).
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(timeoutError()), Math.min(o.timeoutMs, left))
    timer.unref()
    try {
      const res = await o.fetch(o.endpoint, { method: 'POST', headers, body, signal: controller.signal })
      const text = await res.text()
      if (res.ok) return rejectedEvents(batch, text)
      lastStatus = res.status
      if (batch.count > 1 && refusedAsTooLarge(res.status, text)) return TOO_LARGE
      if (!isRetryableStatus(res.status)) {
        return new TallySdkError(
          'batch_refused',
          `Tally refused the batch: HTTP ${res.status} ${text.slice(0, 500)}`,
          {
            status: res.status,
            events: events(batch),
            body: parseJson(text),
          },
        )
      }
      lastError = new Error(`HTTP ${res.status}`)
      retryAfter = retryAfterMs(res.headers.get('retry-after'))
    } catch (err) {
      lastError = err
      lastStatus = undefined
    } finally {
      clearTimeout(timer)
    }
    if (attempt < o.maxRetries) {
      const wait = retryDelayMs(attempt, o, retryAfter)
      if (Date.now() + wait >= deadline()) {
        lastError = new Error(`closeTimeoutMs passes before the next attempt (${String(lastError)})`)
        break
      }
      await o.sleep(wait)
    }
  }
  return new TallySdkError(
    'delivery_failed',
    `Could not deliver ${batch.count} event(s): ${String(lastError)}`,
    { status: lastStatus, events: events(batch) },
    { cause: lastError },
  )
}

/** What AbortSignal.timeout() aborts with. */
function timeoutError(): DOMException {
  return new DOMException('The operation was aborted due to timeout', 'TimeoutError')
}

/** The events of a batch, parsed back for an error report. */
function events(batch: BatchBuffer): EventCreate[] {
  try {
    return batch.events() as EventCreate[]
  } catch {
    return []
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** A 200 can still reject single events (validation); those are reported, not retried (they would fail again). */
function rejectedEvents(batch: BatchBuffer, text: string): TallySdkError | undefined {
  const answer = parseJson(text) as BatchAnswer
  if (!answer || typeof answer !== 'object' || !(answer.rejected > 0)) return undefined
  const rejected = (answer.results ?? []).filter((r) => r.status === 'rejected')
  const all = events(batch)
  return new TallySdkError('events_rejected', `Tally rejected ${answer.rejected} event(s) as invalid`, {
    status: 200,
    events: rejected.map((r) => all[r.index]).filter((e) => e !== undefined),
    body: rejected,
  })
}
