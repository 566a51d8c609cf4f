/**
 * Store insert throughput: `EventStore.insertBatch` (batches of 1,000) against a raw driver loop over the
 * same rows in the same run, plus the schema alternatives behind the chosen design (docs/storage.md).
 *
 *   npx tsx bench/store.ts                 # 200k rows
 *   BENCH_ROWS=1000000 npx tsx bench/store.ts
 *   BENCH_PG=0 npx tsx bench/store.ts      # SQLite only
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { v7 as uuidv7 } from 'uuid'
import type { AnalyticsEvent } from '../src/schema/analytics-event.js'
import { createStore } from '../src/store/create-store.js'
import { toEventRow } from '../src/store/event-rows.js'
import { PostgresStoreDialect } from '../src/store/postgres/postgres-dialect.js'
import { SqliteStoreDialect } from '../src/store/sqlite/sqlite-dialect.js'
import { createFreshPostgresDatabase, isPostgresReachable } from '../test/helpers/dialects.js'
import { generateCorpus } from './corpus.js'

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000)
const BATCH = 1000
const WITH_PG = process.env.BENCH_PG !== '0'

/** Corpus lines as stored events, in arrival (timestamp) order as live traffic arrives. */
function buildEvents(n: number): AnalyticsEvent[] {
  const raw = generateCorpus(n, 7).map((l) => JSON.parse(l) as Record<string, any>)
  raw.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0))
  return raw.map((r) => ({
    id: uuidv7(),
    projectId: 'bench',
    type: r.type,
    name: r.name ?? r.event ?? null,
    messageId: String(r.messageId),
    userId: r.userId == null ? null : String(r.userId),
    anonymousId: r.anonymousId ?? null,
    sessionId: null,
    groupId: r.groupId ?? null,
    previousId: r.previousId ?? null,
    timestamp: r.timestamp,
    originalTimestamp: r.timestamp,
    sentAt: r.sentAt ?? null,
    receivedAt: r.sentAt ?? r.timestamp,
    properties: r.properties ?? {},
    traits: r.traits ?? null,
    context: r.context ?? {},
    status: 'received',
    error: null,
    attempts: 0,
    tags: [],
    schema: null,
    violations: [],
  }))
}

function batches<T>(items: readonly T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += BATCH) out.push(items.slice(i, i + BATCH))
  return out
}

async function timed(label: string, rows: number, work: () => Promise<void> | void): Promise<number> {
  const t0 = performance.now()
  await work()
  const rate = rows / ((performance.now() - t0) / 1000)
  console.log(`${label.padEnd(58)} ${Math.round(rate).toLocaleString('en').padStart(9)} rows/s`)
  return rate
}

// ── SQLite ────────────────────────────────────────────────────────────────────────────────────────
type DedupeVariant = 'none' | 'narrow-table' | 'unique-index'

/**
 * Raw better-sqlite3: one prepared statement per table, a transaction per 1,000 rows, on Tally's schema with
 * the dedupe variant swapped in: `unique-index` is Tally's SQLite schema (migration 0007), `narrow-table`
 * the `event_dedupe` table it replaced (PostgreSQL's), `none` neither.
 */
async function rawSqlite(dir: string, events: AnalyticsEvent[], variant: DedupeVariant): Promise<number> {
  const file = join(dir, `raw-${variant}.db`)
  const store = await createStore(`sqlite:${file}`, { migrate: true, rollupWriter: null })
  await store.close()
  const dialect = new SqliteStoreDialect({ filename: file })
  const db = dialect.openDatabase()
  if (variant !== 'unique-index') db.exec('drop index events_project_message_idx')
  if (variant === 'narrow-table') {
    db.exec(
      'create table event_dedupe (project_id text not null, message_id text not null, event_id text not null, primary key (project_id, message_id)) without rowid',
    )
  }
  const cols = Object.keys(toEventRow(dialect, events[0]))
  const insert = db.prepare(
    `insert into events (${cols.join(',')}) values (${cols.map((c) => '@' + c).join(',')})`,
  )
  const useDedupe = variant === 'narrow-table'
  const dedupe = useDedupe
    ? db.prepare('insert into event_dedupe (project_id, message_id, event_id) values (?, ?, ?)')
    : null
  const tx = db.transaction((chunk: ReturnType<typeof toEventRow>[]) => {
    for (const r of chunk) {
      dedupe?.run(r.project_id, r.message_id, r.id)
      insert.run(r)
    }
  })
  // Row conversion (JSON.stringify of the documents) is part of both sides' timed work.
  const rate = await timed(`sqlite raw loop, dedupe: ${variant}`, events.length, () => {
    for (const chunk of batches(events)) tx(chunk.map((e) => toEventRow(dialect, e)))
  })
  db.close()
  return rate
}

async function storeSqlite(dir: string, events: AnalyticsEvent[], rollups: boolean): Promise<number> {
  const store = await createStore(`sqlite:${join(dir, `store-${rollups}.db`)}`, {
    migrate: true,
    ...(rollups ? {} : { rollupWriter: null }),
  })
  const rate = await timed(
    `sqlite EventStore.insertBatch${rollups ? ' + rollups' : ''}`,
    events.length,
    async () => {
      for (const chunk of batches(events)) await store.insertBatch(chunk, [])
    },
  )
  await store.close()
  return rate
}

// ── PostgreSQL ─────────────────────────────────────────────────────────────────────────────────────
async function rawPostgres(
  events: AnalyticsEvent[],
  variant: 'narrow-table' | 'unique-index',
): Promise<number> {
  const fresh = await createFreshPostgresDatabase()
  try {
    const store = await createStore(fresh.url, { migrate: true, rollupWriter: null })
    await store.close()
    const dialect = new PostgresStoreDialect({ connectionString: fresh.url })
    const pool = dialect.createPool()
    if (variant === 'unique-index')
      await pool.query('create unique index events_msg on events (project_id, message_id)')
    const cols = Object.keys(toEventRow(dialect, events[0]))
    const rate = await timed(`postgres raw multi-row INSERT, dedupe: ${variant}`, events.length, async () => {
      const client = await pool.connect()
      try {
        for (const evs of batches(events)) {
          const chunk = evs.map((e) => toEventRow(dialect, e) as Record<string, unknown>)
          await client.query('begin')
          if (variant === 'narrow-table') {
            const vals: unknown[] = []
            const tuples = chunk.map((r, i) => {
              vals.push(r.project_id, r.message_id, r.id)
              return `($${i * 3 + 1},$${i * 3 + 2},$${i * 3 + 3})`
            })
            await client.query(
              `insert into event_dedupe (project_id, message_id, event_id) values ${tuples.join(',')} on conflict do nothing`,
              vals,
            )
          }
          const vals: unknown[] = []
          const tuples = chunk.map((r) => `(${cols.map((c) => `$${vals.push(r[c])}`).join(',')})`)
          await client.query(`insert into events (${cols.join(',')}) values ${tuples.join(',')}`, vals)
          await client.query('commit')
        }
      } finally {
        client.release()
      }
    })
    await pool.end()
    return rate
  } finally {
    await fresh.drop()
  }
}

async function storePostgres(events: AnalyticsEvent[], rollups: boolean): Promise<number> {
  const fresh = await createFreshPostgresDatabase()
  try {
    const store = await createStore(fresh.url, { migrate: true, ...(rollups ? {} : { rollupWriter: null }) })
    const rate = await timed(
      `postgres EventStore.insertBatch${rollups ? ' + rollups' : ''}`,
      events.length,
      async () => {
        for (const chunk of batches(events)) await store.insertBatch(chunk, [])
      },
    )
    await store.close()
    return rate
  } finally {
    await fresh.drop()
  }
}

const events = buildEvents(ROWS)
console.log(`${ROWS.toLocaleString('en')} corpus events, batches of ${BATCH}\n`)
const dir = mkdtempSync(join(tmpdir(), 'tally-bench-store-'))
try {
  const none = await rawSqlite(dir, events, 'none')
  const narrow = await rawSqlite(dir, events, 'narrow-table')
  const unique = await rawSqlite(dir, events, 'unique-index')
  const store = await storeSqlite(dir, events, false)
  const storeRollups = await storeSqlite(dir, events, true)
  console.log(
    `\nsqlite: store/raw (same schema: unique index) ${(store / unique).toFixed(2)}x; with rollups ${(storeRollups / unique).toFixed(2)}x;` +
      ` dedupe cost: unique index ${(unique / none).toFixed(2)}x, narrow table ${(narrow / none).toFixed(2)}x of no dedupe\n`,
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}

if (WITH_PG && (await isPostgresReachable())) {
  const narrow = await rawPostgres(events, 'narrow-table')
  const unique = await rawPostgres(events, 'unique-index')
  const store = await storePostgres(events, false)
  const storeRollups = await storePostgres(events, true)
  console.log(
    `\npostgres: store/raw INSERT (same schema) ${(store / narrow).toFixed(2)}x; with rollups ${(storeRollups / narrow).toFixed(2)}x;` +
      ` unique index in events instead of the narrow table ${(unique / narrow).toFixed(2)}x`,
  )
} else if (WITH_PG) console.log('PostgreSQL not reachable: skipped')
