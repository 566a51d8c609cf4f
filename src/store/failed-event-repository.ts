import { type Kysely, type RawBuilder, type SqlBool, sql, type Transaction } from 'kysely'
import { decodeCursor, encodeCursor, queryFingerprint } from '../query/cursor.js'
import { assertOrderedRange } from '../query/event-filters.js'
import { MAX_QUERY_LIMIT } from '../schema/event-query.js'
import type { ValidationIssue } from '../schema/validation-issue.js'
import type { Database } from './database.js'
import { databaseNowMs } from './database-clock.js'
import type { StoreDialect } from './dialect.js'
import { fromFailedRow } from './event-rows.js'
import type { DeleteFilter, FailedEventPage, FailedEventQuery } from './event-store.js'

const DEFAULT_FAILED_LIMIT = 100

/** True when the JSON array of issues in `column` has one with `code`. */
function hasIssueCode(dialect: StoreDialect, column: string, code: string): RawBuilder<SqlBool> {
  const c = sql.ref(column)
  if (dialect.name === 'postgres') return sql<SqlBool>`${c} @> ${JSON.stringify([{ code }])}::jsonb`
  return sql<SqlBool>`exists (select 1 from json_each(${c}) as j where json_extract(j.value, '$.code') = ${code})`
}

/** The failed-event store: rejected events with their raw payload, listed by keyset, replay bookkeeping. */
export class FailedEventRepository {
  readonly #db: Kysely<Database>
  readonly #d: StoreDialect

  constructor(db: Kysely<Database>, dialect: StoreDialect) {
    this.#db = db
    this.#d = dialect
  }

  async list(projectId: string, query: FailedEventQuery): Promise<FailedEventPage> {
    const limit = Math.min(MAX_QUERY_LIMIT, Math.max(1, Math.trunc(query.limit ?? DEFAULT_FAILED_LIMIT)))
    const fingerprint = queryFingerprint(`failed:${projectId}`, query)
    assertOrderedRange(query.from, query.to)
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, fingerprint)
    let qb = this.#db.selectFrom('failed_events').selectAll().where('project_id', '=', projectId)
    if (query.from !== undefined) qb = qb.where('received_at', '>=', this.#d.toDbTime(query.from))
    if (query.to !== undefined) qb = qb.where('received_at', '<', this.#d.toDbTime(query.to))
    if (query.code !== undefined) qb = qb.where(hasIssueCode(this.#d, 'errors', query.code))
    if (after) {
      const at = this.#d.toDbTime(after.t)
      qb = qb.where((eb) => eb(eb.refTuple('received_at', 'id'), '<', eb.tuple(at, after.id)))
    }
    const rows = await qb
      .orderBy('received_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute()
    const failedEvents = rows.slice(0, limit).map((r) => fromFailedRow(this.#d, r))
    const last = failedEvents[failedEvents.length - 1]
    const nextCursor =
      rows.length > limit && last
        ? encodeCursor({ t: Date.parse(last.receivedAt), id: last.id }, fingerprint)
        : null
    return { failedEvents, nextCursor }
  }

  /**
   * Records a failed replay attempt (new errors) of each, in ONE transaction: one autocommitted UPDATE per
   * event meant one fsync each on SQLite's main-thread connection — 20,000 still failing froze the server
   * for 19.6 s (a trial).
   */
  async markStillFailing(
    projectId: string,
    items: readonly { id: string; errors: ValidationIssue[]; receivedAt: string }[],
  ): Promise<void> {
    if (items.length === 0) return
    const at = this.#d.toDbTime(Date.now())
    // In id order, as a group commit replaces kept failed events (insert-batch.ts): opposite orders
    // deadlocked the two on PostgreSQL (a re-check trial: 503s for the ingest's whole group).
    const ordered = [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    await this.#db.transaction().execute(async (trx) => {
      for (const { id, errors, receivedAt } of ordered) {
        await trx
          .updateTable('failed_events')
          .set((eb) => ({
            errors: this.#d.toDbJson(errors),
            replay_state: 'failed_again',
            replay_attempts: eb('replay_attempts', '+', 1),
            last_replay_at: at,
          }))
          .where('project_id', '=', projectId)
          .where('id', '=', id)
          // The version this replay judged: a re-send that replaced it meanwhile keeps its own errors
          // (they were overwritten with the older version's).
          .where('received_at', '=', this.#d.toDbTime(receivedAt))
          .execute()
      }
    })
  }

  /**
   * Marks those of `ids` no other replay holds as `replaying` (held for `leaseMs`) and returns them: only
   * the replay that claimed a failed event stores it. Two replays at once each stored the page, and the
   * second's bookkeeping removed the failed event under the first, which took that for a GDPR erasure
   * and deleted the event it had stored (a trial: 196 of 200 events lost on PostgreSQL). PostgreSQL
   * re-checks the condition on rows another transaction updated meanwhile; SQLite has one writer.
   */
  async claimForReplay(projectId: string, ids: readonly string[], leaseMs: number): Promise<Set<string>> {
    if (ids.length === 0) return new Set()
    const now = await databaseNowMs(this.#db, this.#d)
    const rows = await this.#db
      .updateTable('failed_events')
      .set({ replay_state: 'replaying', last_replay_at: this.#d.toDbTime(now) })
      .where('project_id', '=', projectId)
      .where('id', 'in', ids)
      .where((eb) =>
        eb.or([
          eb('replay_state', '<>', 'replaying'),
          eb('last_replay_at', '<', this.#d.toDbTime(now - leaseMs)),
        ]),
      )
      .returning('id')
      .execute()
    return new Set(rows.map((r) => r.id))
  }

  /**
   * Removes failed events (replayed), in one statement; returns those that were still there — one that
   * was not had been erased meanwhile (or replayed by another run).
   */
  async remove(projectId: string, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set()
    const rows = await this.#db
      .deleteFrom('failed_events')
      .where('project_id', '=', projectId)
      .where('id', 'in', ids)
      .returning('id')
      .execute()
    return new Set(rows.map((r) => r.id))
  }

  /** GDPR: failed events whose raw payload names the user (payloads are JSON, ids compared as text). */
  async deleteForPerson(
    trx: Transaction<Database>,
    projectId: string,
    filter: DeleteFilter,
  ): Promise<number> {
    const d = this.#d
    const r = await trx
      .deleteFrom('failed_events')
      .where('project_id', '=', projectId)
      .where((eb) =>
        eb.or([
          ...(filter.userId ? [eb(d.jsonExtract('payload', ['userId'], 'text'), '=', filter.userId)] : []),
          ...(filter.anonymousId
            ? [eb(d.jsonExtract('payload', ['anonymousId'], 'text'), '=', filter.anonymousId)]
            : []),
        ]),
      )
      .executeTakeFirst()
    return Number(r.numDeletedRows)
  }

  async purgeOlderThan(trx: Transaction<Database>, cutoff: Date, projectId?: string): Promise<number> {
    let del = trx.deleteFrom('failed_events').where('received_at', '<', this.#d.toDbTime(cutoff))
    if (projectId !== undefined) del = del.where('project_id', '=', projectId)
    return Number((await del.executeTakeFirst()).numDeletedRows)
  }
}
