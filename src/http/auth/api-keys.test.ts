import { afterEach, describe, expect, it, vi } from 'vitest'
import { AppError } from '../../errors/app-error.js'
import type { ApiKeyRecord, EventStore } from '../../store/event-store.js'
import { ApiKeyResolver, createApiKeyRecord } from './api-keys.js'

/** A store whose key lookup can be made to fail like a database that is down. */
function fakeStore(records: ApiKeyRecord[]) {
  const state = { down: false, lookups: 0, records }
  const store = {
    async findApiKeyByHash(hash: string) {
      state.lookups++
      if (state.down) throw new AppError('store_unavailable', undefined, { retryAfterSeconds: 5 })
      return state.records.find((r) => r.hash === hash)
    },
  } as unknown as EventStore
  return { store, state }
}

describe('ApiKeyResolver stale-if-error', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('should keep serving a known key while the database is unavailable, up to staleIfErrorMs', async () => {
    vi.useFakeTimers()
    const { secret, record } = createApiKeyRecord('p1', 'write')
    const { store, state } = fakeStore([record])
    const keys = new ApiKeyResolver(store, { ttlMs: 10_000, staleIfErrorMs: 3_600_000 })
    expect(await keys.resolve(secret)).toMatchObject({ projectId: 'p1', role: 'write' })
    state.down = true
    vi.advanceTimersByTime(60_000) // past the TTL: the store is asked, fails, the known key is served
    expect(await keys.resolve(secret)).toMatchObject({ projectId: 'p1', role: 'write' })
    expect(state.lookups).toBe(2)
    vi.advanceTimersByTime(3_600_000) // past the staleness bound: the store's error stands
    await expect(keys.resolve(secret)).rejects.toMatchObject({ code: 'store_unavailable' })
  })

  it('should never serve an unknown key while the database is unavailable', async () => {
    const { secret } = createApiKeyRecord('p1', 'write')
    const { store, state } = fakeStore([])
    state.down = true
    const keys = new ApiKeyResolver(store)
    await expect(keys.resolve(secret)).rejects.toMatchObject({ code: 'store_unavailable' })
  })

  it('should apply a revocation as soon as the database answers again', async () => {
    vi.useFakeTimers()
    const { secret, record } = createApiKeyRecord('p1', 'write')
    const { store, state } = fakeStore([record])
    const keys = new ApiKeyResolver(store, { ttlMs: 10_000 })
    expect(await keys.resolve(secret)).toBeDefined()
    state.down = true
    vi.advanceTimersByTime(20_000)
    expect(await keys.resolve(secret)).toBeDefined()
    state.down = false
    state.records = [{ ...record, revokedAt: new Date().toISOString() }]
    vi.advanceTimersByTime(20_000)
    expect(await keys.resolve(secret)).toBeUndefined()
    state.down = true // the revoked key is forgotten: not served from the cache on the next outage
    await expect(keys.resolve(secret)).rejects.toMatchObject({ code: 'store_unavailable' })
  })

  it('should not serve stale keys for errors other than store_unavailable', async () => {
    vi.useFakeTimers()
    const { secret, record } = createApiKeyRecord('p1', 'write')
    const { store } = fakeStore([record])
    const keys = new ApiKeyResolver(store, { ttlMs: 10_000 })
    expect(await keys.resolve(secret)).toBeDefined()
    ;(store as { findApiKeyByHash: unknown }).findApiKeyByHash = async () => {
      throw new AppError('internal', 'bug')
    }
    vi.advanceTimersByTime(20_000)
    await expect(keys.resolve(secret)).rejects.toMatchObject({ code: 'internal' })
  })
})
