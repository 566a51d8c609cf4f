import { AppError } from '../errors/app-error.js'
import type { EventStore, Project } from '../store/event-store.js'
import { mayServeStale } from '../store/store-errors.js'
import { TrackingPlan } from '../tracking-plan/tracking-plan.js'

/** Default of the stale-if-error window: 1 hour, as for API keys (docs/scale-out.md). */
export const PROJECT_STALE_IF_ERROR_MS = 3_600_000

/** What the ingest hot path needs of a project: its settings and its compiled tracking plan. */
export interface ProjectRuntime {
  project: Project
  plan: TrackingPlan
}

/**
 * Caches each project's settings and compiled tracking plan, so ingest never reads them from the database
 * per request. Entries are refreshed after `ttlMs` (other processes may have changed a plan) and dropped
 * at once by `invalidate()` (this process changed it). While the database is unavailable, a project loaded
 * within `staleIfErrorMs` keeps its last settings and plan (stale-if-error, as the API-key cache): an ingest
 * node of the scale-out deployment keeps accepting into the stream while PostgreSQL is down.
 */
export class ProjectRuntimeCache {
  readonly #store: EventStore
  readonly #ttlMs: number
  readonly #staleIfErrorMs: number
  readonly #entries = new Map<string, { runtime: Promise<ProjectRuntime>; loadedAt: number }>()
  /** The last runtime each project loaded successfully, and when: the stale-if-error fallback. */
  readonly #lastGood = new Map<string, { runtime: ProjectRuntime; loadedAt: number }>()
  /** Each project's plan and the list of stored versions it was built from. */
  readonly #plans = new Map<string, { fingerprint: string; plan: TrackingPlan }>()

  constructor(store: EventStore, options: { ttlMs?: number; staleIfErrorMs?: number } = {}) {
    this.#store = store
    this.#ttlMs = options.ttlMs ?? 30_000
    this.#staleIfErrorMs = options.staleIfErrorMs ?? PROJECT_STALE_IF_ERROR_MS
  }

  get(projectId: string): Promise<ProjectRuntime> {
    const now = Date.now()
    const hit = this.#entries.get(projectId)
    if (hit && now - hit.loadedAt < this.#ttlMs) return hit.runtime
    const runtime = this.#loadOrStale(projectId, now)
    this.#entries.set(projectId, { runtime, loadedAt: now })
    // A failed load must not be cached: the next request tries again.
    runtime.catch(() => {
      if (this.#entries.get(projectId)?.runtime === runtime) this.#entries.delete(projectId)
    })
    return runtime
  }

  invalidate(projectId: string): void {
    this.#entries.delete(projectId)
    this.#lastGood.delete(projectId)
    // The plan stays: a changed list of versions rebuilds it at the next load, an unchanged one reuses it.
  }

  async #loadOrStale(projectId: string, now: number): Promise<ProjectRuntime> {
    try {
      const runtime = await this.#load(projectId)
      this.#lastGood.set(projectId, { runtime, loadedAt: now })
      return runtime
    } catch (err) {
      const last = this.#lastGood.get(projectId)
      if (last !== undefined && mayServeStale(err, last.loadedAt, now, this.#staleIfErrorMs)) {
        // Served for one more TTL: the database is asked again after it, not on every request meanwhile.
        return last.runtime
      }
      throw err
    }
  }

  async #load(projectId: string): Promise<ProjectRuntime> {
    const [project, schemas] = await Promise.all([
      this.#store.getProject(projectId),
      this.#store.listSchemas(projectId),
    ])
    if (!project) throw new AppError('not_found', `project ${JSON.stringify(projectId)} does not exist`)
    // Stored versions never change (a version is registered once, never edited or removed), so the same
    // list is the same plan: reuse it instead of rebuilding it every TTL — with thousands of schemas the
    // per-content compile cache could not hold them all, and every reload froze the server for seconds.
    const fingerprint = schemas
      .map((s) => `${s.eventType}\u0000${s.eventName}\u0000${s.version}\u0000${s.createdAt}`)
      .sort()
      .join('\n')
    const last = this.#plans.get(projectId)
    const plan =
      last !== undefined && last.fingerprint === fingerprint
        ? last.plan
        : TrackingPlan.fromStoredSchemas(schemas, projectId)
    this.#plans.set(projectId, { fingerprint, plan })
    return { project, plan }
  }
}
