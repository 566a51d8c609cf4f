/**
 * What each index of `events` costs a SQLite insert, per row: the floor under the HTTP batch route.
 *
 *   npx tsx bench/sqlite-indexes.ts [--rows 100000] [--batch 1000] [--reps 1] [--only "all,no user"]
 *
 * Rows are corpus events (bench/corpus.ts) run through the real validator and formatter with fresh random
 * messageIds (as SDKs send) and encoded as the write worker binds them (`encodeEventRow`). Each variant is
 * Tally's migrated SQLite schema with some indexes dropped, written by a raw better-sqlite3 loop exactly as
 * the store writes (one prepared `INSERT … ON CONFLICT DO NOTHING` per row, a transaction per `--batch`
 * rows, Tally's pragmas), into a fresh file. Reported per row: wall rate, process CPU (user + system), and
 * the wall time inside the insert statements and inside COMMIT (which writes every dirtied page to the WAL
 * and fsyncs). The baseline is the first variant, Tally's schema as shipped, measured in the same run.
 *
 * Why: MEASUREMENTS.md found that an index whose keys arrive in random order dirties about one page per
 * inserted row. Tally's SQLite schema has two such keys, both required elsewhere — the dedupe key
 * (project, messageId) and a user's events (project, userId, timestamp) — and this shows what they cost.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createEventFormatter } from '../src/enrich/event-formatter.js'
import { createStore } from '../src/store/create-store.js'
import { EVENT_COLUMNS, encodeEventRow } from '../src/store/event-rows.js'
import { DEFAULT_PROJECT_SETTINGS } from '../src/store/project-types.js'
import { SqliteStoreDialect } from '../src/store/sqlite/sqlite-dialect.js'
import { EventValidator } from '../src/validate/event-validator.js'
import { generateCorpus } from './corpus.js'

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '1000' },
    reps: { type: 'string', default: '1' },
    only: { type: 'string' },
  },
})
const ROWS = Number(args.rows)
const BATCH = Number(args.batch)
const REPS = Number(args.reps)

const USER = 'events_project_user_time_idx'
const MESSAGE = 'events_project_message_idx'
const TIME = 'events_project_time_idx'
const TYPE_NAME = 'events_project_type_name_time_idx'

/** Indexes dropped per variant; the first is the baseline (Tally's schema as shipped). */
const VARIANTS: Record<string, string[]> = {
  'all (Tally schema)': [],
  'no user index': [USER],
  'no dedupe index': [MESSAGE],
  'no user, no dedupe': [USER, MESSAGE],
  'no (type, name) index': [TYPE_NAME],
  'only the time indexes': [USER, MESSAGE, TYPE_NAME],
  'primary key only': [USER, MESSAGE, TIME, TYPE_NAME],
}

function buildRows(n: number): unknown[][] {
  const validator = new EventValidator()
  const formatter = createEventFormatter()
  const dialect = new SqliteStoreDialect({ filename: ':memory:' })
  const settings = { ...DEFAULT_PROJECT_SETTINGS }
  const rows: unknown[][] = []
  for (const line of generateCorpus(n, 42)) {
    const event = JSON.parse(line)
    event.messageId = randomUUID()
    const v = validator.validate(event)
    if (!v.ok) throw new Error('corpus event invalid')
    const ctx = {
      projectId: 'bench',
      receivedAt: new Date(),
      clientIp: '203.0.113.9',
      settings,
      schema: null,
      warnings: [],
    }
    const f = formatter.format(v.event, ctx)
    if (f.kind === 'ok') rows.push(encodeEventRow(dialect, f.event))
  }
  return rows
}

interface Figures {
  rowsPerSec: number
  cpuUs: number
  sysUs: number
  insertUs: number
  commitUs: number
}

async function runVariant(rows: unknown[][], drop: string[]): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-sqlite-indexes-'))
  try {
    const file = join(dir, 'tally.db')
    const store = await createStore(`sqlite:${file}`, { migrate: true, rollupWriter: null })
    await store.close()
    const db = new SqliteStoreDialect({ filename: file }).openDatabase()
    for (const index of drop) db.exec(`drop index ${index}`)
    // Without the unique index there is nothing to arbitrate: the same statement, conflict target dropped.
    const conflict = drop.includes(MESSAGE) ? '' : ' on conflict (project_id, message_id) do nothing'
    const columns = EVENT_COLUMNS.join(',')
    const params = EVENT_COLUMNS.map(() => '?').join(',')
    const insert = db.prepare(`insert into events (${columns}) values (${params})${conflict}`)
    const begin = db.prepare('begin immediate')
    const commit = db.prepare('commit')
    let insertMs = 0
    let commitMs = 0
    const cpu0 = process.cpuUsage()
    const wall0 = performance.now()
    for (let b = 0; b < rows.length; b += BATCH) {
      begin.run()
      const t0 = performance.now()
      const end = Math.min(b + BATCH, rows.length)
      for (let i = b; i < end; i++) insert.run(rows[i])
      const t1 = performance.now()
      commit.run()
      insertMs += t1 - t0
      commitMs += performance.now() - t1
    }
    const wallMs = performance.now() - wall0
    const cpu = process.cpuUsage(cpu0)
    db.close()
    const n = rows.length
    return {
      rowsPerSec: (n / wallMs) * 1000,
      cpuUs: (cpu.user + cpu.system) / n,
      sysUs: cpu.system / n,
      insertUs: (insertMs * 1000) / n,
      commitUs: (commitMs * 1000) / n,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const only = args.only?.split(',').map((s) => s.trim())
const chosen = Object.entries(VARIANTS).filter(
  ([name], i) => i === 0 || only === undefined || only.some((o) => name.includes(o)),
)

const rows = buildRows(ROWS)
console.log(
  `${rows.length} rows (${(rows.reduce((s, r) => s + String(r[14]).length + String(r[16]).length, 0) / rows.length).toFixed(0)} B of properties + context JSON each), transactions of ${BATCH}, median of ${REPS}`,
)
const results = new Map<string, Figures[]>(chosen.map(([name]) => [name, []]))
for (let r = 0; r < REPS; r++) {
  // Alternating variants, so drift in the machine's load hits each alike.
  for (const [name, drop] of chosen) results.get(name)!.push(await runVariant(rows, drop))
}
const pick = (fs: Figures[], k: keyof Figures) => median(fs.map((f) => f[k]))
const base = results.get(chosen[0][0])!
console.log('variant                  rows/s  vs Tally   CPU µs/row (system)   insert µs/row   commit µs/row')
for (const [name, figures] of results) {
  console.log(
    `${name.padEnd(22)} ${Math.round(pick(figures, 'rowsPerSec')).toLocaleString('en-US').padStart(8)} ${(
      pick(figures, 'rowsPerSec') / pick(base, 'rowsPerSec')
    )
      .toFixed(2)
      .padStart(
        8,
      )}x ${pick(figures, 'cpuUs').toFixed(1).padStart(12)} (${pick(figures, 'sysUs').toFixed(1)}) ${pick(
      figures,
      'insertUs',
    )
      .toFixed(1)
      .padStart(15)} ${pick(figures, 'commitUs').toFixed(1).padStart(15)}`,
  )
}
