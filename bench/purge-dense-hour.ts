/**
 * `npx tsx bench/purge-dense-hour.ts [events=20000]` — a retention purge of events that all fall in ONE
 * hour (an import, a busy hour), on SQLite: each slice rebuilds that hour's rollups, and a rebuild that
 * re-reads every event still in the hour made the purge quadratic (a trial: 5k events 3.9 s, 20k 25 s).
 * Prints the purge's wall time and the longest event-loop stall, against deleting the same rows in one
 * statement (no rollups) measured in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createStore } from '../src/store/create-store.js'
import { DEFAULT_PROJECT_SETTINGS } from '../src/store/project-types.js'

const n = Number(process.argv[2] ?? 20_000)
const HOUR = Date.parse('2026-01-01T10:00:00.000Z')

async function seeded(url: string) {
  const store = await createStore(url)
  await store.migrate()
  await store.createProject({
    id: 'p',
    name: 'p',
    createdAt: new Date(0).toISOString(),
    settings: DEFAULT_PROJECT_SETTINGS,
  })
  const events = Array.from({ length: n }, (_, i) => {
    const at = new Date(HOUR + Math.floor((i * 3_600_000) / n)).toISOString()
    return {
      id: `0190${String(i).padStart(4, '0')}-0000-7000-8000-${String(i).padStart(12, '0')}`,
      projectId: 'p',
      type: 'track' as const,
      name: `E${i % 20}`,
      messageId: `m${i}`,
      userId: `u${i % 500}`,
      anonymousId: null,
      sessionId: null,
      groupId: null,
      previousId: null,
      timestamp: at,
      originalTimestamp: at,
      sentAt: null,
      receivedAt: at,
      properties: { plan: 'pro', n: i },
      traits: null,
      context: {},
      status: 'received' as const,
      error: null,
      attempts: 0,
      tags: [],
      schema: null,
      violations: [],
    }
  })
  for (let i = 0; i < n; i += 1000) await store.insertBatch(events.slice(i, i + 1000), [])
  return store
}

const dir = mkdtempSync(join(tmpdir(), 'tally-purge-'))
try {
  const store = await seeded(`sqlite:${join(dir, 'a.db')}`)
  const h = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  const t0 = performance.now()
  const r = await store.purgeOlderThan(new Date(HOUR + 3_600_000 + 1))
  const wall = performance.now() - t0
  h.disable()
  console.log(
    `purgeOlderThan: ${r.events} events in ${wall.toFixed(0)} ms, longest stall ${(h.max / 1e6).toFixed(0)} ms`,
  )
  await store.close()

  const raw = await seeded(`sqlite:${join(dir, 'b.db')}`)
  const t1 = performance.now()
  await raw.db.deleteFrom('events').execute()
  const base = performance.now() - t1
  console.log(
    `baseline, one DELETE without rollups: ${base.toFixed(0)} ms; purge / baseline ${(wall / base).toFixed(1)}x`,
  )
  await raw.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
