import * as crypto from 'node:crypto'
import { utcDay } from './iso-time.js'

/**
 * SHA-256 as hex. The one-shot `crypto.hash` (Node >= 20.12) takes ~0.7–1.0 µs for a session key against
 * ~1.9 µs for `createHash().update().digest()` (no Hash object per call); a session is hashed once, but
 * most events of a fresh visitor start one. Node 20.11 (the oldest supported) falls back.
 */
const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text).digest('hex')

export const DEFAULT_SESSION_TIMEOUT_MS = 30 * 60 * 1000
export const DEFAULT_MAX_TRACKED_VISITORS = 100_000

export interface SessionDeriverOptions {
  /** Secret mixed into every id so ids cannot be recomputed from a visitor's identity. Default: random. */
  salt?: string
  /** Inactivity that ends a session. Default 30 minutes. */
  timeoutMs?: number
  /** Visitors remembered per project (least recently seen forgotten first). Default 100,000. */
  maxVisitors?: number
}

interface SessionRun {
  id: string
  day: number
  first: number
  last: number
}

interface VisitorState extends SessionRun {
  /** Event time at which the entry was last moved to the young end of the map. */
  touched: number
  /**
   * The visitor's earlier runs — sessions the current one replaced, and runs of events older than the
   * current session (an offline queue, a backfill) — newest use last, at most MAX_EARLIER_RUNS. A late
   * event joins the run it falls in, or starts one; it never replaces the current session. Before, one late
   * event ended the current session (the visitor's next event a minute later started a third), and an
   * event of the previous session arriving after the new one began got a session of its own.
   */
  earlier?: SessionRun[]
}

/** Earlier runs remembered per visitor: a backfill rarely spans more periods of one day. */
const MAX_EARLIER_RUNS = 4

/**
 * The key a derived session is tracked by: the anonymous id, else the user id, else the (already anonymised)
 * IP with the user agent. Null when there is nothing to tell the visitor by. The anonymous id is used as it
 * is (the common case, no concatenation); the others start with a NUL, which no validated id contains, so
 * the kinds cannot collide.
 */
export function visitorKey(
  anonymousId: string | null,
  userId: string | null,
  ip: string | null,
  ua: string | null,
) {
  if (anonymousId !== null) return anonymousId
  if (userId !== null) return `\u0000u${userId}`
  if (ip !== null || ua !== null) return `\u0000i${ip ?? ''}|${ua ?? ''}`
  return null
}

/**
 * Derives session ids for events that came without one. A session is a visitor's run of events with gaps
 * of at most `timeoutMs` within one UTC day; its id is a salted SHA-256 of (day, project, visitor, start
 * time), cut to 32 hex characters, computed once per session. Events older than the visitor's current
 * session that do not fit it form their own session beside it. The last-seen time per visitor is held in a
 * bounded in-memory map, so the result depends on the events this instance has seen, in order: it is
 * deterministic for a given stream, but a restart or an evicted visitor starts a new session.
 */
export function createSessionDeriver(options: SessionDeriverOptions = {}) {
  const salt = options.salt ?? crypto.randomBytes(16).toString('hex')
  const timeoutMs = options.timeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS
  const maxVisitors = options.maxVisitors ?? DEFAULT_MAX_TRACKED_VISITORS
  // One map per project (so the key needs no project prefix), in least-recently-seen order. A hit moves
  // its entry to the young end only when it was last moved more than half a timeout ago: an active
  // visitor stays young while most hits cost one Map.get.
  const projects = new Map<string, Map<string, VisitorState>>()

  return function deriveSessionId(projectId: string, visitor: string, timestampMs: number): string {
    let visitors = projects.get(projectId)
    if (visitors === undefined) {
      visitors = new Map()
      projects.set(projectId, visitors)
    }
    const day = utcDay(timestampMs)
    const state = visitors.get(visitor)
    if (state !== undefined && joinRun(state, day, timestampMs, timeoutMs)) {
      if (Math.abs(timestampMs - state.touched) > timeoutMs / 2) {
        state.touched = timestampMs
        visitors.delete(visitor)
        visitors.set(visitor, state)
      }
      return state.id
    }
    if (state !== undefined && timestampMs < state.first) {
      // Late: joins an earlier run it falls in, or starts one; the current session goes on.
      if (state.earlier === undefined) state.earlier = []
      const earlier = state.earlier
      for (let i = 0; i < earlier.length; i++) {
        const run = earlier[i]
        if (!joinRun(run, day, timestampMs, timeoutMs)) continue
        earlier.splice(i, 1)
        earlier.push(run)
        return run.id
      }
      const id = sessionIdOf(salt, day, projectId, visitor, timestampMs)
      remember(earlier, { id, day, first: timestampMs, last: timestampMs })
      return id
    }
    const id = sessionIdOf(salt, day, projectId, visitor, timestampMs)
    let earlier: SessionRun[] | undefined
    if (state !== undefined) {
      // The session this one replaces stays joinable by its own late events.
      earlier = state.earlier ?? []
      remember(earlier, { id: state.id, day: state.day, first: state.first, last: state.last })
      visitors.delete(visitor)
    } else if (visitors.size >= maxVisitors) visitors.delete(visitors.keys().next().value as string)
    visitors.set(visitor, { id, day, first: timestampMs, last: timestampMs, touched: timestampMs, earlier })
    return id
  }
}

function remember(runs: SessionRun[], run: SessionRun): void {
  runs.push(run)
  if (runs.length > MAX_EARLIER_RUNS) runs.shift()
}

function sessionIdOf(salt: string, day: number, projectId: string, visitor: string, startMs: number): string {
  return sha256Hex(`${salt}\u0000${day}\u0000${projectId}\u0000${visitor}\u0000${startMs}`).slice(0, 32)
}

/** Whether an event at `timestampMs` belongs to `run` (same UTC day, within the timeout); if so, adds it. */
function joinRun(run: SessionRun, day: number, timestampMs: number, timeoutMs: number): boolean {
  if (run.day !== day || timestampMs < run.first - timeoutMs || timestampMs > run.last + timeoutMs)
    return false
  if (timestampMs > run.last) run.last = timestampMs
  if (timestampMs < run.first) run.first = timestampMs
  return true
}
