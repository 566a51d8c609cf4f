import type { FailedEventQuery } from '../store/event-store.js'

/** Outcome of a failed-event replay. */
export interface ReplayOutcome {
  /** Failed events that passed this time and were stored. */
  replayed: number
  /** Failed events that failed again (kept with their new errors). */
  stillFailing: number
}

/**
 * Services the HTTP layer calls beyond the store and the ingestor. Each is optional so the server can be
 * built before a stage exists; a route whose service is absent is not registered (404), never faked.
 */
export interface ServerServices {
  /** Re-validates a project's failed events against the current plan; those that pass are ingested. */
  replayFailedEvents?: (projectId: string, filter: FailedEventQuery) => Promise<ReplayOutcome>
  /** Called after a project's settings or schemas change, so the pipeline stops using cached ones. */
  onProjectChanged?: (projectId: string) => void | Promise<void>
}
