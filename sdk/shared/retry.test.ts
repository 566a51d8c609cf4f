import { describe, expect, it } from 'vitest'
import { isRetryableStatus, MAX_RETRY_AFTER_MS, retryAfterMs, retryDelayMs } from './retry.js'

describe('isRetryableStatus', () => {
  it('should retry 408, 429 and 5xx but no other 4xx', () => {
    expect([408, 429, 500, 502, 503, 599].every(isRetryableStatus)).toBe(true)
    expect([400, 401, 403, 404, 413, 415, 422].some(isRetryableStatus)).toBe(false)
  })
})

describe('retryAfterMs', () => {
  it('should read delay-seconds and HTTP dates, and ignore garbage', () => {
    expect(retryAfterMs('3')).toBe(3000)
    const now = Date.parse('2026-11-27T10:00:00Z')
    expect(retryAfterMs('Fri, 27 Nov 2026 10:00:05 GMT', now)).toBe(5000)
    expect(retryAfterMs('Fri, 27 Nov 2026 09:00:00 GMT', now)).toBe(0)
    expect(retryAfterMs('soon')).toBeUndefined()
    expect(retryAfterMs(null)).toBeUndefined()
    expect(retryAfterMs('999999')).toBe(MAX_RETRY_AFTER_MS)
  })
})

describe('retryDelayMs', () => {
  const policy = { baseDelayMs: 500, maxDelayMs: 30_000 }
  it('should grow exponentially under full jitter and stay within the cap', () => {
    expect(retryDelayMs(0, policy, undefined, () => 1)).toBe(500)
    expect(retryDelayMs(3, policy, undefined, () => 1)).toBe(4000)
    expect(retryDelayMs(20, policy, undefined, () => 1)).toBe(30_000)
    expect(retryDelayMs(3, policy, undefined, () => 0.5)).toBe(2000)
    expect(retryDelayMs(3, policy, undefined, () => 0)).toBe(0)
  })
  it('should never wait less than Retry-After', () => {
    expect(retryDelayMs(0, policy, 2000, () => 1)).toBe(2000)
    expect(retryDelayMs(10, policy, 2000, () => 1)).toBe(30_000)
  })
})
