import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createFreshPostgresDatabase, IN_CI, isPostgresReachable } from '../helpers/dialects.js'
import { compare, type DurabilityReport, Ledger, readStored, runLoad } from './helpers/durability-load.js'
import { recordFigures } from './helpers/figures.js'
import { startServe } from './helpers/serve-process.js'

// Suite 1. Short in `npm test`; long: RELIABILITY_ROUNDS=50 RELIABILITY_PG_ROUNDS=20 (RELIABILITY.md).
const SQLITE_ROUNDS = Number(process.env.RELIABILITY_ROUNDS ?? 2)
const PG_ROUNDS = Number(process.env.RELIABILITY_PG_ROUNDS ?? process.env.RELIABILITY_ROUNDS ?? 2)
const WORKERS = 8
const pgUp = await isPostgresReachable()

const dir = mkdtempSync(join(tmpdir(), 'tally-crash-http-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/**
 * Rounds of: start `tally serve`, post batches from WORKERS clients (native and Segment, retrying
 * unanswered batches with the same messageIds, re-sending some answered ones), SIGKILL at a random moment
 * after the first answer, check the database. A last round lets every pending retry through.
 */
async function crashRounds(
  databaseUrl: string,
  rounds: number,
): Promise<DurabilityReport & { kills: number }> {
  const ledger = new Ledger()
  const env = { TALLY_DATABASE_URL: databaseUrl, TALLY_LOG_LEVEL: 'warn' }
  let kills = 0
  for (let round = 0; round <= rounds; round++) {
    const last = round === rounds
    const server = await startServe(env)
    let stop = false
    let armed = false
    const start = ledger.acked.size
    const load = runLoad(server.url, ledger, {
      workers: WORKERS,
      shouldStop: () => stop || (last && ledger.pending.length === 0 && ledger.acked.size > start),
      onAck: () => {
        if (armed || last) return
        armed = true
        setTimeout(() => server.child.kill('SIGKILL'), 50 + Math.random() * 1000)
      },
    })
    if (last) {
      await load
      await server.stop('SIGTERM')
    } else {
      const exit = await server.exited()
      // Our timed SIGKILL, not a crash of the server.
      expect(exit.signal, server.output()).toBe('SIGKILL')
      kills++
      stop = true
      await load
    }
    const state = await readStored(databaseUrl, ledger.run)
    expect(state.integrity).toBe('ok')
    const report = compare(ledger, state)
    expect({ lost: report.lost, duplicated: report.duplicated, doubleAccepts: ledger.doubleAccepts }).toEqual(
      {
        lost: 0,
        duplicated: 0,
        doubleAccepts: 0,
      },
    )
    expect(report.rejectedMissing).toBe(0)
  }
  for (const status of ledger.otherStatuses.keys()) expect([429, 503]).toContain(status)
  const report = compare(ledger, await readStored(databaseUrl, ledger.run))
  // Once every retry got through, what was stored is exactly what was acknowledged.
  expect(report.stored).toBe(report.acknowledged)
  return {
    ...report,
    kills,
    requests: ledger.requests,
    retries: ledger.retries,
    replays: ledger.replays,
    duplicateAnswers: ledger.duplicateAnswers,
  } as DurabilityReport & { kills: number }
}

describe('crash durability over HTTP (tally serve, SIGKILL)', () => {
  it(
    `should store every acknowledged event exactly once across ${SQLITE_ROUNDS} kills (SQLite)`,
    async () => {
      const report = await crashRounds(`sqlite:${join(dir, 'crash.db')}`, SQLITE_ROUNDS)
      recordFigures('crash-sqlite', { rounds: SQLITE_ROUNDS, ...report })
      expect(report.acknowledged).toBeGreaterThan(0)
    },
    60_000 + SQLITE_ROUNDS * 15_000,
  )

  it.skipIf(!pgUp && !IN_CI)(
    `should store every acknowledged event exactly once across ${PG_ROUNDS} kills (PostgreSQL)`,
    async () => {
      const db = await createFreshPostgresDatabase()
      try {
        const report = await crashRounds(db.url, PG_ROUNDS)
        recordFigures('crash-postgres', { rounds: PG_ROUNDS, ...report })
        expect(report.acknowledged).toBeGreaterThan(0)
      } finally {
        await db.drop()
      }
    },
    60_000 + PG_ROUNDS * 15_000,
  )
})
