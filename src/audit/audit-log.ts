import { userInfo } from 'node:os'
import type { Kysely } from 'kysely'
import { v7 as uuidv7 } from 'uuid'
import { AppError } from '../errors/app-error.js'
import { assertOrderedRange } from '../query/event-filters.js'
import { toStoreError } from '../store/store-errors.js'

/** Every admin action the audit log records. Stable strings: API, like error codes. */
export const AUDIT_ACTIONS = [
  'key.created',
  'key.revoked',
  'schema.registered',
  'settings.changed',
  'event.updated',
  'event.deleted',
  'events.status_updated',
  'events.erased',
  'failed_events.replayed',
  'events.purged',
  'project.created',
] as const
export type AuditAction = (typeof AUDIT_ACTIONS)[number]

/** Who acted: an API key (its id, never its secret) or the CLI on the database directly. */
export type AuditActor = { kind: 'key'; keyId: string } | { kind: 'cli'; user?: string }

/** One recorded admin action. */
export interface AuditEntry {
  id: string
  projectId: string
  /** When, ISO-8601 UTC. */
  at: string
  /** `key` or `cli`. */
  actor: 'key' | 'cli'
  /** The API key that acted (null for the CLI). */
  actorKeyId: string | null
  action: AuditAction
  /** What was acted on: a key id, an event id, `track/Signed Up/1-0-0`, a user id… */
  target: string | null
  /** Action-specific facts (counts, changed settings). Never secrets. */
  details: Record<string, unknown>
}

export interface NewAuditEntry {
  projectId: string
  actor: AuditActor
  action: AuditAction
  target?: string | null
  details?: Record<string, unknown>
  /** Default: now. */
  at?: Date
}

export interface AuditQuery {
  /** At or after (ISO-8601). */
  from?: string
  /** Before (ISO-8601). */
  to?: string
  action?: AuditAction
  /** Default 100, at most 1,000. */
  limit?: number
  cursor?: string
}

export interface AuditPage {
  entries: AuditEntry[]
  nextCursor: string | null
}

interface AuditTable {
  id: string
  project_id: string
  at: string
  actor: string
  actor_key_id: string | null
  action: string
  target: string | null
  details: string
}
type AuditDb = { audit_log: AuditTable }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * The audit log: who (key id), what and when for every admin action, per project, newest first.
 * Backed by the `audit_log` table (migration 0003) on the store's own database.
 *
 * @example
 * const audit = new AuditLog(store.db)
 * await audit.record({ projectId: 'default', actor: { kind: 'key', keyId }, action: 'key.revoked', target: id })
 */
export class AuditLog {
  readonly #db: Kysely<AuditDb>

  constructor(db: Kysely<any>) {
    this.#db = db as Kysely<AuditDb>
  }

  async record(entry: NewAuditEntry): Promise<AuditEntry> {
    const row: AuditTable = {
      id: uuidv7(),
      project_id: entry.projectId,
      at: (entry.at ?? new Date()).toISOString(),
      actor: entry.actor.kind,
      actor_key_id: entry.actor.kind === 'key' ? entry.actor.keyId : null,
      action: entry.action,
      target: entry.target ?? null,
      details: JSON.stringify({
        ...(entry.actor.kind === 'cli' && entry.actor.user ? { user: entry.actor.user } : {}),
        ...entry.details,
      }),
    }
    try {
      await this.#db.insertInto('audit_log').values(row).execute()
    } catch (err) {
      throw toStoreError(err)
    }
    return fromRow(row)
  }

  /** A project's entries, newest first, keyset-paginated. Throws AppError('invalid_cursor'). */
  async list(projectId: string, query: AuditQuery = {}): Promise<AuditPage> {
    const limit = Math.min(1000, Math.max(1, Math.trunc(query.limit ?? 100)))
    let before: string | undefined
    if (query.cursor !== undefined) {
      before = Buffer.from(query.cursor, 'base64url').toString('utf8')
      if (!UUID.test(before)) throw new AppError('invalid_cursor')
    }
    const from = query.from === undefined ? undefined : isoOf(query.from, 'from')
    const to = query.to === undefined ? undefined : isoOf(query.to, 'to')
    assertOrderedRange(from, to)
    try {
      let q = this.#db
        .selectFrom('audit_log')
        .selectAll()
        .where('project_id', '=', projectId)
        .orderBy('id', 'desc')
        .limit(limit + 1)
      if (before !== undefined) q = q.where('id', '<', before)
      if (from !== undefined) q = q.where('at', '>=', from)
      if (to !== undefined) q = q.where('at', '<', to)
      if (query.action !== undefined) q = q.where('action', '=', query.action)
      const rows = await q.execute()
      const page = rows.slice(0, limit).map(fromRow)
      const last = page.at(-1)
      return {
        entries: page,
        nextCursor: rows.length > limit && last ? Buffer.from(last.id, 'utf8').toString('base64url') : null,
      }
    } catch (err) {
      throw toStoreError(err)
    }
  }
}

function isoOf(text: string, name: string): string {
  const ms = Date.parse(text)
  if (Number.isNaN(ms)) throw new AppError('validation_failed', `${name} must be an ISO-8601 date-time`)
  return new Date(ms).toISOString()
}

function fromRow(row: AuditTable): AuditEntry {
  let details: Record<string, unknown> = {}
  try {
    details = JSON.parse(row.details) as Record<string, unknown>
  } catch {
    details = {}
  }
  return {
    id: row.id,
    projectId: row.project_id,
    at: row.at,
    actor: row.actor === 'cli' ? 'cli' : 'key',
    actorKeyId: row.actor_key_id,
    action: row.action as AuditAction,
    target: row.target,
    details,
  }
}

/** The actor for commands run on the database directly (`tally purge`, …): the OS user when known. */
export function cliActor(
  env: Record<string, string | undefined>,
  osUser: () => string | undefined = currentOsUser,
): AuditActor {
  // systemd units, cron and containers often set none of these: ask the OS then.
  const user = env.SUDO_USER || env.USER || env.LOGNAME || osUser()
  return user ? { kind: 'cli', user } : { kind: 'cli' }
}

/** The OS account of this process, or undefined when it has no name (a UID without a passwd entry). */
function currentOsUser(): string | undefined {
  try {
    return userInfo().username || undefined
  } catch {
    return undefined
  }
}
