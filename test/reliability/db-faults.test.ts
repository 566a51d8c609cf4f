import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { createFreshPostgresDatabase, IN_CI, isPostgresReachable, TEST_PG_URL } from '../helpers/dialects.js'
import { canMountTmpfs } from './helpers/can-mount.js'
import { compare, Ledger, readStored, runLoad } from './helpers/durability-load.js'
import { recordFigures } from './helpers/figures.js'
import { SERVE_KEYS, type ServeProcess, startServe } from './helpers/serve-process.js'

// Suite 2. Short in `npm test`; long: RELIABILITY_FAULT_SECONDS=20 (RELIABILITY.md).
const FAULT_SECONDS = Number(process.env.RELIABILITY_FAULT_SECONDS ?? 2)
const pgUp = await isPostgresReachable()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls /readyz every 100 ms until stopped; remembers each answer's status and when. */
function watchReadiness(server: ServeProcess) {
  const seen: { at: number; status: number }[] = []
  let stop = false
  const done = (async () => {
    while (!stop) {
      const status = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(5000) })
        .then(async (r) => {
          await r.arrayBuffer()
          return r.status
        })
        .catch(() => 0)
      seen.push({ at: Date.now(), status })
      await sleep(100)
    }
  })()
  return {
    seen,
    async stop() {
      stop = true
      await done
    },
  }
}

/** Load until `until()` is true and every unanswered batch went through; then the usual durability checks. */
async function loadThrough(server: ServeProcess, ledger: Ledger, phases: () => Promise<void>) {
  let phasesDone = false
  const load = runLoad(server.url, ledger, {
    workers: 6,
    shouldStop: () => phasesDone && ledger.pending.length === 0,
  })
  await phases()
  phasesDone = true
  await Promise.race([
    load,
    sleep(60_000).then(() =>
      Promise.reject(
        new Error(
          `retries did not drain in 60 s: ${JSON.stringify({ pending: ledger.pending.length, statuses: Object.fromEntries(ledger.otherStatuses), codes: Object.fromEntries(ledger.errorCodes), connectionErrors: ledger.connectionErrors })}\n${server.output().slice(-3000)}`,
        ),
      ),
    ),
  ])
}

function expectHonestAnswers(ledger: Ledger, server: ServeProcess) {
  if ([...ledger.otherStatuses.keys()].some((s) => s !== 429 && s !== 503))
    console.log(server.output().slice(-4000))
  for (const status of ledger.otherStatuses.keys()) expect([429, 503]).toContain(status)
  expect(ledger.missingRetryAfter).toBe(0)
  expect(ledger.connectionErrors).toBe(0) // no hangs, no dropped connections: every request got an answer
}

describe.skipIf(!pgUp && !IN_CI)('database faults: PostgreSQL', () => {
  it(
    'should answer 503 + Retry-After while connections are killed or refused or a privilege is revoked, turn /readyz red, recover by itself, lose nothing',
    async () => {
      const db = await createFreshPostgresDatabase()
      // A login role of its own, so refusing its connections touches nobody else on the shared server.
      const role = `${db.name}_r`
      const admin = new pg.Client({ connectionString: TEST_PG_URL })
      await admin.connect()
      let server: ServeProcess | undefined
      try {
        await admin.query(`create role ${role} login`)
        await admin.query(`grant all on database ${db.name} to ${role}`)
        await admin.query(`alter database ${db.name} owner to ${role}`)
        const url = new URL(db.url)
        url.username = role
        server = await startServe({ TALLY_DATABASE_URL: url.toString(), TALLY_LOG_LEVEL: 'error' })
        const ledger = new Ledger()
        const ready = watchReadiness(server)
        let killed = 0
        const kill = async () => {
          const r = await admin.query(
            'select pg_terminate_backend(pid) from pg_stat_activity where usename = $1',
            [role],
          )
          killed += r.rowCount ?? 0
        }
        let restoredAt = 0
        await loadThrough(server, ledger, async () => {
          await sleep(500)
          // Phase 1: connections killed under load (the pool reconnects; in-flight queries fail).
          for (const end = Date.now() + FAULT_SECONDS * 1000; Date.now() < end; ) {
            await kill()
            await sleep(150 + Math.random() * 300)
          }
          // Phase 2: the database refuses the role outright (as during a failover), then comes back.
          await admin.query(`alter role ${role} connection limit 0`)
          for (const end = Date.now() + FAULT_SECONDS * 1000; Date.now() < end; ) {
            await kill()
            await sleep(200)
          }
          await admin.query(`alter role ${role} connection limit -1`)
          restoredAt = Date.now()
          await sleep(500)
          // Phase 3: a privilege revoked (an operator's mistake, a migration of grants): 500 internal it
          // was, without Retry-After, while SQLite's read-only file answered 503.
          const owner = new pg.Client({ connectionString: db.url })
          await owner.connect()
          try {
            await owner.query(`revoke insert on events from ${role}`)
            await sleep(FAULT_SECONDS * 1000)
            await owner.query(`grant insert on events to ${role}`)
          } finally {
            await owner.end()
          }
          await sleep(500)
        })
        await ready.stop()
        const red = ready.seen.filter((s) => s.status === 503).length
        const recovered = ready.seen.find((s) => s.at >= restoredAt && s.status === 200)
        expect(red, '/readyz turned red while the database refused').toBeGreaterThan(0)
        expect(recovered, '/readyz green again without a restart').toBeDefined()
        expect(ready.seen.every((s) => s.status === 200 || s.status === 503)).toBe(true)
        expectHonestAnswers(ledger, server)
        expect((await server.stop('SIGTERM')).code).toBe(0)
        const report = compare(ledger, await readStored(db.url, ledger.run))
        recordFigures('db-faults-postgres', {
          faultSeconds: FAULT_SECONDS * 2,
          backendsKilled: killed,
          requests: ledger.requests,
          statuses: Object.fromEntries(ledger.otherStatuses),
          readyzRed: red,
          recoveryMs: (recovered?.at ?? 0) - restoredAt,
          ...report,
        })
        expect(report.lost).toBe(0)
        expect(report.duplicated).toBe(0)
        expect(report.rejectedMissing).toBe(0)
        expect(report.stored).toBe(report.acknowledged)
        expect(ledger.otherStatuses.get(503) ?? 0).toBeGreaterThan(0)
      } finally {
        await server?.stop('SIGKILL')
        await db.drop()
        await admin.query(`drop role if exists ${role}`).catch(() => {})
        await admin.end()
      }
    },
    120_000 + FAULT_SECONDS * 4000,
  )
})

const mountable = canMountTmpfs()

describe.skipIf(!mountable)('database faults: SQLite volume', () => {
  const mnt = mkdtempSync(join(tmpdir(), 'tally-vol-'))
  let mounted = false
  afterAll(() => {
    if (mounted) execFileSync('umount', ['-l', mnt], { stdio: 'ignore' })
    rmSync(mnt, { recursive: true, force: true })
  })

  it(
    'should answer 503 + Retry-After on a full disk, recover when space is freed, stay uncorrupted',
    async () => {
      // Larger than the WAL's auto-checkpoint threshold (10,000 pages ≈ 40 MB, docs/storage.md) plus the
      // database: on a smaller volume the WAL itself fills the disk before it is ever checkpointed, and
      // freeing space does not help (RELIABILITY.md, suite 2).
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=128m', 'tmpfs', mnt])
      mounted = true
      mkdirSync(join(mnt, 'data'))
      const url = `sqlite:${join(mnt, 'data', 'tally.db')}`
      const server = await startServe({ TALLY_DATABASE_URL: url, TALLY_LOG_LEVEL: 'error' })
      const ledger = new Ledger()
      const ready = watchReadiness(server)
      try {
        await loadThrough(server, ledger, async () => {
          await sleep(500)
          // Full disk: a filler takes every free byte, then is removed.
          try {
            execFileSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=1M'], { stdio: 'ignore' })
          } catch {
            // dd stops with ENOSPC: that is the point
          }
          await sleep(FAULT_SECONDS * 1000)
          rmSync(join(mnt, 'filler'))
          await sleep(500)
        })
      } finally {
        await ready.stop()
      }
      expectHonestAnswers(ledger, server)
      expect((await server.stop('SIGTERM')).code).toBe(0)
      const state = await readStored(url, ledger.run)
      expect(state.integrity).toBe('ok')
      const report = compare(ledger, state)
      recordFigures('db-faults-sqlite', {
        faultSeconds: FAULT_SECONDS,
        requests: ledger.requests,
        statuses: Object.fromEntries(ledger.otherStatuses),
        readyz: Object.fromEntries(
          [...new Set(ready.seen.map((s) => s.status))].map((s) => [
            s,
            ready.seen.filter((x) => x.status === s).length,
          ]),
        ),
        ...report,
      })
      expect(
        ledger.otherStatuses.get(503) ?? 0,
        'writes were refused with 503 while the volume was broken',
      ).toBeGreaterThan(0)
      expect(report.lost).toBe(0)
      expect(report.duplicated).toBe(0)
      expect(report.rejectedMissing).toBe(0)
      expect(report.stored).toBe(report.acknowledged)
      const db = new BetterSqlite3(url.slice('sqlite:'.length), { readonly: true })
      db.close()
      writeFileSync(join(mnt, 'ok'), '') // the volume is writable again
    },
    120_000 + FAULT_SECONDS * 4000,
  )
})

// Root ignores file modes, so the read-only case runs the server as `nobody` (65534) when we are root.
const asNobody = process.platform === 'linux' && process.getuid?.() === 0

describe.skipIf(!asNobody)('database faults: SQLite read-only file', () => {
  it('should answer writes 503 + Retry-After (reads still served) on a read-only database file, and lose nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-ro-'))
    chmodSync(dir, 0o777)
    const url = `sqlite:${join(dir, 'tally.db')}`
    try {
      const first = await startServe({ TALLY_DATABASE_URL: url, TALLY_LOG_LEVEL: 'error' })
      const post = (s: ServeProcess, name: string) =>
        fetch(`${s.url}/api/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${SERVE_KEYS.write}`, 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'track', name, userId: 'u' }),
        })
      expect((await post(first, 'before')).status).toBe(200)
      expect((await first.stop('SIGTERM')).code).toBe(0)

      chmodSync(join(dir, 'tally.db'), 0o444)
      const ro = await startServe({ TALLY_DATABASE_URL: url, TALLY_LOG_LEVEL: 'error' }, [], {
        uid: 65534,
        gid: 65534,
      })
      const statuses: number[] = []
      for (let i = 0; i < 10; i++) {
        const res = await post(ro, 'refused')
        statuses.push(res.status)
        expect(res.headers.get('retry-after')).not.toBeNull()
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('store_unavailable')
      }
      const read = await fetch(`${ro.url}/api/v1/events?limit=5`, {
        headers: { authorization: `Bearer ${SERVE_KEYS.read}` },
      })
      expect(read.status).toBe(200)
      expect((await ro.stop('SIGTERM')).code).toBe(0)

      chmodSync(join(dir, 'tally.db'), 0o644)
      const again = await startServe({ TALLY_DATABASE_URL: url, TALLY_LOG_LEVEL: 'error' })
      expect((await post(again, 'after')).status).toBe(200)
      expect((await again.stop('SIGTERM')).code).toBe(0)
      const db = new BetterSqlite3(url.slice('sqlite:'.length), { readonly: true })
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
        const names = (db.prepare('select name from events order by id').all() as { name: string }[]).map(
          (r) => r.name,
        )
        expect(names).toEqual(['before', 'after'])
      } finally {
        db.close()
      }
      recordFigures('db-faults-sqlite-readonly', {
        refusedWrites: statuses.filter((s) => s === 503).length,
        of: statuses.length,
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
