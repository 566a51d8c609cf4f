import { AppError } from '../errors/app-error.js'
import type { EventStore, Project } from '../store/event-store.js'
import { TrackingPlan } from '../tracking-plan/tracking-plan.js'

/** What the ingest hot path needs of a project: its settings and its compiled tracking plan. */
export interface ProjectRuntime {
  project: Project
  plan: TrackingPlan
}

/**
 * Caches each project's settings and compiled tracking plan, so ingest never reads them from the database
 * per request. Entries are refreshed after `ttlMs` (other processes may have changed a plan) and dropped
 * at once by `invalidate()` (this process changed it).
 */
export class ProjectRuntimeCache {
  readonly #store: EventStore
  readonly #ttlMs: number
  readonly #entries = new Map<string, { runtime: Promise<ProjectRuntime>; loadedAt: number }>()

  constructor(store: EventStore, options: { ttlMs?: number } = {}) {
    this.#store = store
    this.#ttlMs = options.ttlMs ?? 30_000
  }

  get(projectId: string): Promise<ProjectRuntime> {
    const now = Date.now()
    const hit = this.#entries.get(projectId)
    if (hit && now - hit.loadedAt < this.#ttlMs) return hit.runtime
    const runtime = this.#load(projectId)
    this.#entries.set(projectId, { runtime, loadedAt: now })
    // A failed load must not be cached: the next request tries again.
    runtime.catch(() => {
      if (this.#entries.get(projectId)?.runtime === runtime) this.#entries.delete(projectId)
    })
    return runtime
  }

  invalidate(projectId: string): void {
    this.#entries.delete(projectId)
  }

  async #load(projectId: string): Promise<ProjectRuntime> {
    const [project, schemas] = await Promise.all([
      this.#store.getProject(projectId),
      this.#store.listSchemas(projectId),
    ])
    if (!project) throw new AppError('not_found', `project ${JSON.stringify(projectId)} does not exist`)
    return { project, plan: TrackingPlan.fromStoredSchemas(schemas, projectId) }
  }
}
