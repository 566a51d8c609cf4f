import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import BetterSqlite3 from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'

// CRASH_ROUNDS=100 npx vitest run test/integration/crash.test.ts for the long version (see docs/storage.md).
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 5)
const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url))

const dir = mkdtempSync(join(tmpdir(), 'tally-crash-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Runs the child until it has acknowledged something, SIGKILLs it after a random delay, returns its complete lines. */
function runAndKill(file: string, retryFile: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, file, retryFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    let armed = false
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8')
      if (!armed && out.includes('\nack ')) {
        armed = true
        setTimeout(() => child.kill('SIGKILL'), 20 + Math.random() * 400)
      }
    })
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8')
    })
    child.on('error', reject)
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`child exited on its own: ${err}`))
      // A line cut by the kill is not an acknowledgement.
      resolve(
        out
          .slice(0, out.lastIndexOf('\n') + 1)
          .split('\n')
          .filter((l) => l.startsWith('ack ')),
      )
    })
  })
}

describe('crash safety (SQLite, SIGKILL)', () => {
  it(
    `should keep every acknowledged event exactly once across ${ROUNDS} kills`,
    async () => {
      const file = join(dir, 'crash.db')
      const retryFile = join(dir, 'retry.txt')
      writeFileSync(retryFile, '')
      const acked = new Map<string, string>() // messageId → id
      for (let round = 0; round < ROUNDS; round++) {
        const lines = await runAndKill(file, retryFile)
        for (const line of lines) {
          const [, status, id, messageId] = line.split(' ')
          const known = acked.get(messageId)
          if (known) expect({ status, id }).toEqual({ status: 'duplicate', id: known })
          else {
            expect(status).toBe('accepted')
            acked.set(messageId, id)
          }
        }
        writeFileSync(retryFile, [...acked.keys()].slice(-500).join('\n'))

        const db = new BetterSqlite3(file)
        try {
          expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
          const rows = db.prepare(`select id, message_id from events where project_id = 'crash'`).all() as {
            id: string
            message_id: string
          }[]
          const stored = new Map<string, string>()
          for (const r of rows) {
            expect(stored.has(r.message_id)).toBe(false) // never twice
            stored.set(r.message_id, r.id)
          }
          for (const [messageId, id] of acked) expect(stored.get(messageId)).toBe(id)
        } finally {
          db.close()
        }
      }
      expect(acked.size).toBeGreaterThan(0)
    },
    60_000 + ROUNDS * 5_000,
  )
})
