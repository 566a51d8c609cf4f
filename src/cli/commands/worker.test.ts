import { spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort } from '../../../test/helpers/nats-cluster.js'
import { runCli, tempDatabase } from '../../../test/helpers/run-cli.js'

describe('workerCommand', () => {
  const dbs: { remove(): void }[] = []
  afterEach(() => {
    for (const db of dbs.splice(0)) db.remove()
  })

  it('should print its help', async () => {
    const run = await runCli(['worker', '--help'])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('--queue URLS')
  })

  it('should exit 2 when no queue is given', async () => {
    const db = tempDatabase()
    dbs.push(db)
    const run = await runCli(['worker', '--db', db.url])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('--queue')
  })

  it('should exit 2 with config_invalid when the queue URL is not a NATS URL (a bad setting, as for serve)', async () => {
    const run = await runCli(['worker', '--queue', 'http://h1:4222'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('config_invalid')
  })

  it('should exit 2 without a database: it wrote acknowledged events to the default SQLite file (a trial)', async () => {
    const port = await freePort()
    const run = await runCli(['worker', '--queue', `nats://127.0.0.1:${port}`])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('--db (or TALLY_DATABASE_URL) is required')
  })

  it('should exit 1 naming the migrations when the database is not migrated and TALLY_MIGRATE_ON_START is false', async () => {
    // It consumed anyway and failed every write, its messages redelivered for as long as it ran (a trial).
    const db = tempDatabase()
    dbs.push(db)
    writeFileSync(join(db.dir, 'tally.db'), '') // an empty SQLite database: there, but never migrated
    const port = await freePort()
    const run = await runCli(['worker', '--queue', `nats://127.0.0.1:${port}`, '--db', db.url], {
      env: { TALLY_MIGRATE_ON_START: 'false' },
    })
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/needs migrations \(0001-initial/)
  })

  it('should not create a mistyped SQLite file when it does not migrate on start', async () => {
    const db = tempDatabase()
    dbs.push(db)
    const missing = join(db.dir, 'typo.db')
    const port = await freePort()
    const run = await runCli(['worker', '--queue', `nats://127.0.0.1:${port}`, '--db', `sqlite:${missing}`], {
      env: { TALLY_MIGRATE_ON_START: 'false' },
    })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('database not found')
    expect(existsSync(missing)).toBe(false)
  })

  it('should exit 1 with store_unavailable when no NATS server answers', async () => {
    const db = tempDatabase()
    dbs.push(db)
    const port = await freePort()
    const run = await runCli(['worker', '--queue', `nats://127.0.0.1:${port}`, '--db', db.url])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('store_unavailable')
  })
})

describe('tally worker as a process', () => {
  it('should exit 1 when the queue URL names a port that accepts but is not NATS (it hung after reporting)', async () => {
    // A listener that accepts connections and never speaks, as a wrong port (a database, a proxy) may.
    const sockets: import('node:net').Socket[] = []
    const silent = createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as { port: number }).port
    const db = tempDatabase()
    try {
      const cli = fileURLToPath(new URL('../index.ts', import.meta.url))
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', cli, 'worker', '--queue', `nats://127.0.0.1:${port}`, '--db', db.url],
        { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let err = ''
      child.stderr.on('data', (d) => {
        err += String(d)
      })
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL')
          resolve(null)
        }, 45_000)
        child.once('exit', (c) => {
          clearTimeout(timer)
          resolve(c)
        })
      })
      expect(err).toContain('Cannot connect to the queue')
      expect(code).toBe(1)
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
      db.remove()
    }
  }, 60_000)
})

describe('serveCommand --queue', () => {
  it('should exit 2 with config_invalid when the queue URL is not a NATS URL', async () => {
    const run = await runCli(['serve', '--queue', 'http://h1:4222', '--db', 'sqlite::memory:'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('config_invalid')
  })
})

describe('workerCommand --metrics-port', () => {
  it('should exit 2 when the metrics port is not a port number', async () => {
    for (const bad of ['abc', '-1', '70000', '80.5']) {
      const run = await runCli(['worker', '--queue', 'nats://127.0.0.1:4222', '--metrics-port', bad])
      expect(run.code, bad).toBe(2)
      expect(run.stderr).toContain('--metrics-port must be a port number')
    }
  })
})
