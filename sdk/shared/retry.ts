/**
 * Retry policy shared by the browser tracker and the Node SDK: which answers are worth another try, how long
 * to wait (exponential backoff with full jitter, at least what `Retry-After` asks), and nothing else, so that
 * both SDKs behave the same and the policy is tested once.
 */

/** Backoff tuning. */
export interface RetryPolicy {
  /** Attempts after the first. Default 5 (browser) / 5 (node). */
  maxRetries: number
  /** Delay cap of the first retry before jitter, ms. Default 500. */
  baseDelayMs: number
  /** Largest backoff delay, ms (a longer `Retry-After` is still honoured up to `maxRetryAfterMs`). */
  maxDelayMs: number
}

/** Longest `Retry-After` honoured, ms; a server asking for more gets this. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000

/** True for answers that may succeed later: 408, 429 and every 5xx. Other 4xx mean the batch is wrong. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500
}

/**
 * `Retry-After` in ms: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). Undefined when absent or unreadable.
 *
 * @example retryAfterMs('2') === 2000
 */
export function retryAfterMs(
  header: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (header == null) return undefined
  const text = header.trim()
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS)
  const at = Date.parse(text)
  if (Number.isNaN(at)) return undefined
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS)
}

/**
 * Delay before retry number `attempt` (0 = first retry): full jitter over `base * 2^attempt`, capped, and
 * never shorter than the server's `Retry-After`.
 */
export function retryDelayMs(
  attempt: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  retryAfter?: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt)
  const jittered = Math.round(random() * ceiling)
  return retryAfter === undefined ? jittered : Math.max(retryAfter, jittered)
}
