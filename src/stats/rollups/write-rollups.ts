import { type Kysely, sql, type Transaction } from 'kysely'
import type { Database } from '../../store/database.js'
import type { StoreDialect } from '../../store/dialect.js'
import { type HyperLogLog, hash53 } from '../sketch/hyper-log-log.js'
import type { LogHistogram } from '../sketch/log-histogram.js'
import { aggregateEvents, type RollupAggregate, type RollupInput } from './aggregate-events.js'

/** First key of the PostgreSQL advisory lock that serialises rollup writers of one project ("zA11y"). */
const ROLLUP_LOCK_CLASS = 0x7a11
const MAX_ROWS_PER_STATEMENT = 500

/**
 * Adds `events` — the events this transaction just inserted (accepted ones only, never duplicates) — to
 * the hourly rollup tables. Called by the store inside the insert transaction, after the event rows are
 * written, so rollups commit or roll back with them.
 *
 * The batch is summarised in memory first (one row per table key), then: counts are upserted additively
 * (`count = count + excluded.count`); sketch rows (uniques, histograms) are read, merged in JS and written
 * back. On PostgreSQL a transaction-scoped advisory lock per project makes that read-merge-write safe
 * against concurrent writers; SQLite has one writer anyway.
 *
 * @example
 * await db.transaction().execute(async (trx) => {
 *   await trx.insertInto('events').values(rows).execute()
 *   await writeRollups(trx, dialect, acceptedEvents)
 * })
 */
export async function writeRollups(
  trx: Transaction<Database> | Kysely<Database>,
  dialect: StoreDialect,
  events: readonly RollupInput[],
): Promise<void> {
  if (events.length === 0) return
  await writeAggregate(trx, dialect, aggregateEvents(events))
}

/**
 * PostgreSQL: takes the transaction-scoped advisory lock that serialises the rollup writers of each
 * project, in sorted order (two transactions touching the same projects always lock in the same order).
 * Deletions take it before deleting anything: a rebuild that took it only when writing had deleted the
 * hour's rows first, so an insert landing in between was counted twice, and the opposite lock orders of
 * the two deadlocked. A no-op on SQLite (one writer).
 */
export async function lockProjectRollups(
  trx: Transaction<Database> | Kysely<Database>,
  dialect: StoreDialect,
  projectIds: Iterable<string>,
): Promise<void> {
  if (dialect.name !== 'postgres') return
  for (const p of [...new Set(projectIds)].sort()) {
    await sql`select pg_advisory_xact_lock(${ROLLUP_LOCK_CLASS}, ${hash53(p) | 0})`.execute(trx)
  }
}

/** Writes an already-built aggregate (used by `writeRollups` and `rebuildRollups`). */
export async function writeAggregate(
  trx: Transaction<Database> | Kysely<Database>,
  dialect: StoreDialect,
  agg: RollupAggregate,
): Promise<void> {
  const db = trx as unknown as Kysely<any>
  if (dialect.name === 'postgres') {
    const projects = new Set<string>()
    for (const m of [agg.counts, agg.uniques, agg.performance, agg.api, agg.interactions]) {
      for (const v of m.values()) projects.add(v.projectId)
    }
    await lockProjectRollups(trx, dialect, projects)
  }
  const chunk = (cols: number) =>
    Math.max(1, Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(dialect.capabilities.maxBindParams / cols)))

  const counts = [...agg.counts.values()].map((c) => ({
    project_id: c.projectId,
    hour: c.hour,
    type: c.type,
    name: c.name,
    count: c.count,
  }))
  await upsert(db, 'stats_counts', ['project_id', 'hour', 'type', 'name'], ['count'], [], counts, chunk(5))

  if (agg.uniques.size > 0) {
    const existing = await readExisting(db, 'stats_uniques', [...agg.uniques.values()], [])
    const rows = [...agg.uniques.values()].map((u) => {
      const old = existing.get(keyOf(u.projectId, u.hour))
      if (old) {
        u.users.mergeSerialized(old.users)
        u.sessions.mergeSerialized(old.sessions)
      }
      return { project_id: u.projectId, hour: u.hour, users: bytes(u.users), sessions: bytes(u.sessions) }
    })
    await upsert(db, 'stats_uniques', ['project_id', 'hour'], [], ['users', 'sessions'], rows, chunk(4))
  }

  if (agg.performance.size > 0) {
    const existing = await readExisting(
      db,
      'stats_performance',
      [...agg.performance.values()],
      [['metric', 'metric']],
    )
    const rows = [...agg.performance.values()].map((p) => {
      const old = existing.get(keyOf(p.projectId, p.hour, p.metric))
      if (old) p.hist.mergeSerialized(old.hist)
      return {
        project_id: p.projectId,
        hour: p.hour,
        metric: p.metric,
        count: p.count,
        good: p.good,
        needs_improvement: p.needsImprovement,
        poor: p.poor,
        hist: bytes(p.hist),
      }
    })
    await upsert(
      db,
      'stats_performance',
      ['project_id', 'hour', 'metric'],
      ['count', 'good', 'needs_improvement', 'poor'],
      ['hist'],
      rows,
      chunk(8),
    )
  }

  if (agg.api.size > 0) {
    const existing = await readExisting(
      db,
      'stats_api',
      [...agg.api.values()],
      [
        ['method', 'method'],
        ['route', 'route'],
      ],
    )
    const rows = [...agg.api.values()].map((a) => {
      const old = existing.get(keyOf(a.projectId, a.hour, a.method, a.route))
      if (old) a.hist.mergeSerialized(old.hist)
      return {
        project_id: a.projectId,
        hour: a.hour,
        method: a.method,
        route: a.route,
        count: a.count,
        status_4xx: a.status4xx,
        status_5xx: a.status5xx,
        hist: bytes(a.hist),
      }
    })
    await upsert(
      db,
      'stats_api',
      ['project_id', 'hour', 'method', 'route'],
      ['count', 'status_4xx', 'status_5xx'],
      ['hist'],
      rows,
      chunk(8),
    )
  }

  if (agg.interactions.size > 0) {
    const existing = await readExisting(
      db,
      'stats_interactions',
      [...agg.interactions.values()],
      [
        ['action', 'action'],
        ['target', 'target'],
      ],
    )
    const rows = [...agg.interactions.values()].map((i) => {
      const old = existing.get(keyOf(i.projectId, i.hour, i.action, i.target))
      if (old) i.users.mergeSerialized(old.users)
      return {
        project_id: i.projectId,
        hour: i.hour,
        action: i.action,
        target: i.target,
        count: i.count,
        users: bytes(i.users),
      }
    })
    await upsert(
      db,
      'stats_interactions',
      ['project_id', 'hour', 'action', 'target'],
      ['count'],
      ['users'],
      rows,
      chunk(6),
    )
  }
}

function keyOf(...parts: (string | number)[]): string {
  return parts.join('\u0000')
}

/** A sketch as the drivers bind bytes (a Buffer view, no copy). */
function bytes(sketch: HyperLogLog | LogHistogram): Buffer {
  const u = sketch.serialize()
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength)
}

/**
 * Reads the stored rows for the given keys. The WHERE is a superset (project, hours IN, each extra key
 * column IN); rows are matched exactly in JS.
 */
async function readExisting<K extends { projectId: string; hour: number }>(
  db: Kysely<any>,
  table: string,
  keys: readonly K[],
  extra: ReadonlyArray<readonly [column: string, field: keyof K & string]>,
): Promise<Map<string, Record<string, Uint8Array>>> {
  const out = new Map<string, Record<string, Uint8Array>>()
  const byProject = new Map<string, K[]>()
  for (const k of keys) {
    const list = byProject.get(k.projectId)
    if (list) list.push(k)
    else byProject.set(k.projectId, [k])
  }
  for (const [projectId, list] of byProject) {
    // Chunk so each IN list stays far below every bind-parameter limit.
    for (let i = 0; i < list.length; i += MAX_ROWS_PER_STATEMENT) {
      const part = list.slice(i, i + MAX_ROWS_PER_STATEMENT)
      let q = db
        .selectFrom(table)
        .selectAll()
        .where('project_id', '=', projectId)
        .where('hour', 'in', [...new Set(part.map((k) => k.hour))])
      for (const [column, field] of extra)
        q = q.where(column, 'in', [...new Set(part.map((k) => String(k[field])))])
      for (const row of await q.execute()) {
        out.set(keyOf(projectId, row.hour, ...extra.map(([column]) => row[column] as string)), row)
      }
    }
  }
  return out
}

async function upsert(
  db: Kysely<any>,
  table: string,
  keyColumns: readonly string[],
  additive: readonly string[],
  replace: readonly string[],
  rows: readonly Record<string, unknown>[],
  chunkSize: number,
): Promise<void> {
  for (let i = 0; i < rows.length; i += chunkSize) {
    await db
      .insertInto(table)
      .values(rows.slice(i, i + chunkSize))
      .onConflict((oc) =>
        oc.columns(keyColumns as string[]).doUpdateSet(() => {
          const set: Record<string, unknown> = {}
          for (const c of additive) set[c] = sql`${sql.ref(`${table}.${c}`)} + ${sql.ref(`excluded.${c}`)}`
          for (const c of replace) set[c] = sql.ref(`excluded.${c}`)
          return set
        }),
      )
      .execute()
  }
}
