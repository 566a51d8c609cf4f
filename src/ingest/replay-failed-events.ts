import type { EventFormatter } from '../enrich/event-formatter.js'
import type { AnalyticsEvent } from '../schema/analytics-event.js'
import type { FailedEvent } from '../schema/failed-event.js'
import type { ValidationIssue } from '../schema/validation-issue.js'
import type { EventStore, FailedEventQuery } from '../store/event-store.js'
import { nextTurn } from '../store/next-turn.js'
import type { EventValidator } from '../validate/event-validator.js'
import { clientMessageId, wasAltered } from './failed-payload.js'
import type { ProjectRuntimeCache } from './project-runtime.js'

export interface ReplayDeps {
  store: EventStore
  validator: EventValidator
  formatter: EventFormatter
  projects: ProjectRuntimeCache
}

export interface ReplayReport {
  /** Failed events examined. */
  examined: number
  /** Now valid and stored (they left the failed-event store). */
  replayed: number
  /**
   * Already stored (same messageId): valid now, or still failing but superseded by an event the client
   * re-sent under the same messageId. They left the failed-event store too.
   */
  duplicates: number
  /** Still invalid: kept, with their errors updated. */
  stillFailing: number
  /** Valid now, but another replay running at the same time holds them: that one stores them. */
  inProgress: number
}

/**
 * How long a replay holds the failed events it is storing. A replay that died holding some (a crash between
 * its claim and its bookkeeping) leaves them `replaying` until then; the next replay after it stores them
 * (once: their messageIds make a second insert a duplicate).
 */
export const REPLAY_CLAIM_MS = 5 * 60_000

/**
 * Re-validates failed events against the project's CURRENT tracking plan (e.g. after a schema fix).
 * Those that pass are stored with their original receive time and leave the failed-event store; the rest
 * stay, with their errors updated.
 *
 * Idempotent: an event without a client `messageId` is replayed under one derived from the failed
 * event's id, so a replay interrupted between the insert and the bookkeeping never stores it twice.
 */
export async function replayFailedEvents(
  deps: ReplayDeps,
  projectId: string,
  filter: Omit<FailedEventQuery, 'cursor' | 'limit'> & { max?: number } = {},
): Promise<ReplayReport> {
  const { store, validator, formatter } = deps
  deps.projects.invalidate(projectId)
  const { project, plan } = await deps.projects.get(projectId)
  const report: ReplayReport = { examined: 0, replayed: 0, duplicates: 0, stillFailing: 0, inProgress: 0 }
  const max = filter.max ?? Number.POSITIVE_INFINITY
  let cursor: string | undefined

  while (report.examined < max) {
    const page = await store.listFailedEvents(projectId, {
      ...filter,
      limit: Math.min(500, max - report.examined),
      cursor,
    })
    if (page.failedEvents.length === 0) break
    const passing: { failed: FailedEvent; event: AnalyticsEvent }[] = []
    const stillFailing: { id: string; errors: ValidationIssue[]; receivedAt: string }[] = []
    const failingMessageIds = new Map<string, string>()
    for (const failed of page.failedEvents) {
      report.examined++
      const errors = revalidate(failed)
      if (!errors) continue
      stillFailing.push({ id: failed.id, errors, receivedAt: failed.receivedAt })
      const messageId = clientMessageId(failed.payload)
      if (messageId !== null) failingMessageIds.set(failed.id, messageId)
    }
    // A failing event whose messageId the project has stored since (the client re-sent it corrected) is
    // done: it leaves the failed-event store as a duplicate. It stayed pending, failing every replay.
    const superseded = new Set<string>()
    if (failingMessageIds.size > 0) {
      const stored = await store.storedEventIds(projectId, [...failingMessageIds.values()])
      for (const [id, messageId] of failingMessageIds) if (stored.has(messageId)) superseded.add(id)
    }
    const failing = superseded.size === 0 ? stillFailing : stillFailing.filter((f) => !superseded.has(f.id))
    await store.markFailedEventsStillFailing(projectId, failing)
    report.stillFailing += failing.length
    if (superseded.size > 0) {
      report.duplicates += (await store.markFailedEventsReplayed(projectId, [...superseded])).size
    }
    const claimed = await store.claimFailedEventsForReplay(
      projectId,
      passing.map((p) => p.failed.id),
      REPLAY_CLAIM_MS,
    )
    const ours = passing.filter((p) => claimed.has(p.failed.id))
    report.inProgress += passing.length - ours.length
    if (ours.length > 0) {
      const outcomes = await store.insertBatch(
        ours.map((p) => p.event),
        [],
      )
      const stillThere = await store.markFailedEventsReplayed(
        projectId,
        ours.map((p) => p.failed.id),
      )
      for (const [i, { failed }] of ours.entries()) {
        if (!stillThere.has(failed.id) && outcomes[i].status === 'accepted') {
          // Claimed by this replay, so no other replay removed it: a GDPR erasure did while this page was
          // being stored (it deletes failed events first, then the person's events) — the event goes too.
          await store.deleteEvent(projectId, outcomes[i].id)
          continue
        }
        if (outcomes[i].status === 'accepted') report.replayed++
        else if (outcomes[i].status === 'duplicate') report.duplicates++
        // dropped: its person was erased meanwhile, and the erasure took the failed event too
      }
    }
    if (!page.nextCursor) break
    cursor = page.nextCursor
    // SQLite runs each page on the main thread: let requests through between pages.
    await nextTurn()

    function revalidate(failed: FailedEvent): ValidationIssue[] | null {
      if (wasAltered(failed.errors)) return failed.errors
      // What the Segment route repaired stays with the event, as at ingest: after the new verdict when it
      // still fails (its notes were replaced by it), among the violations when it is stored.
      const notes = failed.errors.filter((e) => e.repaired === true)
      const payload = withReplayMessageId(failed)
      const checked = validator.validate(payload, {
        trackingPlan: plan,
        enforcement: project.settings.enforcement,
        nameCase: project.settings.nameCase,
      })
      if (!checked.ok) return [...checked.errors, ...notes]
      const formatted = formatter.format(checked.event, {
        projectId,
        // The receive-time window is judged once, on arrival: an event refused as too old then stays so;
        // any other passed it, or came where there is none (/v1/import), and is not judged by it again —
        // every /v1/import event that failed for another reason stayed failing for good (a re-check trial).
        historical: !failed.errors.some((e) => e.code === 'timestamp_too_old' && e.repaired !== true),
        receivedAt: new Date(failed.receivedAt),
        clientIp: failed.clientIp ?? undefined,
        userAgent: failed.userAgent ?? undefined,
        settings: project.settings,
        schema: checked.schema,
        warnings: notes.length === 0 ? checked.warnings : [...notes, ...checked.warnings],
      })
      if (formatted.kind === 'reject') return [...formatted.errors, ...notes]
      if (formatted.kind === 'drop')
        return [
          { path: '', code: 'not_allowed', message: 'dropped as bot traffic by the project settings' },
          ...notes,
        ]
      passing.push({ failed, event: formatted.event })
      return null
    }
  }
  return report
}

function withReplayMessageId(failed: FailedEvent): unknown {
  const payload = failed.payload
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return payload
  if ((payload as { messageId?: unknown }).messageId !== undefined) return payload
  return { ...(payload as object), messageId: `replay-${failed.id}` }
}
