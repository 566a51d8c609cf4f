import { describe, expect, it } from 'vitest'
import { AppError } from '../errors/app-error.js'
import type { EventStore } from '../store/event-store.js'
import { DEFAULT_PROJECT_SETTINGS } from '../store/project-types.js'
import { ProjectRuntimeCache } from './project-runtime.js'

/** A store whose project reads succeed until `down` is set, then fail as an unreachable database does. */
function flakyStore() {
  const state = { down: false }
  const project = {
    id: 'p1',
    name: 'P1',
    createdAt: '2026-11-27T00:00:00.000Z',
    settings: DEFAULT_PROJECT_SETTINGS,
  }
  const fail = () =>
    new AppError('store_unavailable', 'The database is unavailable', { retryAfterSeconds: 5 })
  const store = {
    async getProject(id: string) {
      if (state.down) throw fail()
      return id === 'p1' ? project : undefined
    },
    async listSchemas() {
      if (state.down) throw fail()
      return []
    },
  } as unknown as EventStore
  return { store, state }
}

describe('ProjectRuntimeCache', () => {
  it('should keep serving a project it loaded while the database is unavailable, within the window', async () => {
    // Found by a user's trial of the scale-out deployment: ingest stopped 30 s into a PostgreSQL outage.
    const { store, state } = flakyStore()
    const cache = new ProjectRuntimeCache(store, { ttlMs: 0, staleIfErrorMs: 60_000 })
    expect((await cache.get('p1')).project.id).toBe('p1')
    state.down = true
    expect((await cache.get('p1')).project.id).toBe('p1')
  })

  it('should not serve stale settings for an unknown project, past the window, or for other errors', async () => {
    const { store, state } = flakyStore()
    state.down = true
    await expect(new ProjectRuntimeCache(store, { ttlMs: 0 }).get('p1')).rejects.toMatchObject({
      code: 'store_unavailable',
    })
    state.down = false
    const noWindow = new ProjectRuntimeCache(store, { ttlMs: 0, staleIfErrorMs: 0 })
    await noWindow.get('p1')
    state.down = true
    await expect(noWindow.get('p1')).rejects.toMatchObject({ code: 'store_unavailable' })
    state.down = false
    await expect(new ProjectRuntimeCache(store, { ttlMs: 0 }).get('nope')).rejects.toMatchObject({
      code: 'not_found',
    })
  })

  it('should reuse the compiled plan while the stored versions are the same (reloads compiled everything)', async () => {
    const schema = {
      projectId: 'p1',
      eventType: 'track',
      eventName: 'Signed Up',
      version: '1-0-0',
      jsonSchema: { type: 'object' },
      createdAt: '2026-11-27T00:00:00.000Z',
    }
    let schemas = [schema]
    const store = {
      async getProject() {
        return { id: 'p1', name: 'P1', createdAt: schema.createdAt, settings: DEFAULT_PROJECT_SETTINGS }
      },
      async listSchemas() {
        return schemas
      },
    } as unknown as EventStore
    const cache = new ProjectRuntimeCache(store, { ttlMs: 0 })
    const first = (await cache.get('p1')).plan
    expect((await cache.get('p1')).plan).toBe(first) // reloaded, same list: same plan
    cache.invalidate('p1')
    expect((await cache.get('p1')).plan).toBe(first)
    schemas = [schema, { ...schema, version: '1-0-1', createdAt: '2026-11-28T00:00:00.000Z' }]
    const second = (await cache.get('p1')).plan
    expect(second).not.toBe(first)
    expect(second.getSchema('track', 'Signed Up')?.version).toBe('1-0-1')
  })
})
