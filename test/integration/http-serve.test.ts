import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createStore } from '../../src/store/create-store.js'

let dir: string | undefined
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

const SCRIPT = `import('./src/cli/commands/serve.ts').then(async (m) => { process.exitCode = await m.serveCommand(process.argv.slice(1)) })`

function startServe(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', SCRIPT, '--', ...args], {
    cwd: process.cwd(),
    env: { ...process.env, TALLY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const banner = new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      if (/admin\s+\S+/.test(stdout)) {
        clearInterval(timer)
        resolve(stdout)
      }
    }, 50)
    child.on('exit', (code) => {
      clearInterval(timer)
      reject(new Error(`exited ${code}: ${stderr}`))
    })
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, banner, exited, output: () => stdout }
}

describe('tally serve', () => {
  it('should print URL and new keys once, ingest, and shut down cleanly on SIGTERM keeping every event', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tally-serve-'))
    const db = `sqlite:${join(dir, 'tally.db')}`
    const first = startServe(['--db', db, '--port', '0'])
    const banner = await first.banner
    const url = /listening on (http:\/\/\S+)/.exec(banner)![1]
    const writeKey = /write\s+(tly_w_\S+)/.exec(banner)![1]
    expect(banner).toContain('shown only now')

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fetch(`${url}/api/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${writeKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'track', name: 'Served', userId: `u${i}` }),
        }),
      ),
    )
    expect(responses.every((r) => r.status === 200)).toBe(true)
    first.child.kill('SIGTERM')
    expect(await first.exited).toBe(0)
    expect(first.output()).toContain('stopped')

    const store = await createStore(db)
    try {
      const page = await store.queryEvents('default', { names: ['Served'], limit: 100 })
      expect(page.events).toHaveLength(20)
    } finally {
      await store.close()
    }

    // Second start: the keys exist, so no secret is printed again.
    const second = startServe(['--db', db, '--port', '0'])
    const banner2 = await second.banner
    expect(banner2).not.toContain(writeKey)
    expect(banner2).toContain('created earlier')
    second.child.kill('SIGINT')
    expect(await second.exited).toBe(0)
  })

  it('should refuse an invalid configuration with a clear message and exit 2, as every command does', async () => {
    const run = startServe(['--port', '99999'])
    // docs/cli.md: one line, ending in the error code
    await expect(run.banner).rejects.toThrow(/TALLY_PORT \(--port\) must be <= 65535.*\(config_invalid\)/)
    expect(await run.exited).toBe(2)
    // A negative number is the option's value, checked like any other (it was "argument is ambiguous").
    const negative = startServe(['--port', '-1'])
    await expect(negative.banner).rejects.toThrow(/TALLY_PORT \(--port\) must be >= 0.*\(config_invalid\)/)
    expect(await negative.exited).toBe(2)
  })

  it('should refuse to start on an unmigrated database when TALLY_MIGRATE_ON_START is false, naming the migrations', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tally-serve-'))
    const run = startServe(['--db', `sqlite:${join(dir, 'tally.db')}`, '--port', '0'], {
      TALLY_MIGRATE_ON_START: 'false',
    })
    await expect(run.banner).rejects.toThrow(/needs migrations \(0001-initial, .*run "tally migrate"/)
    expect(await run.exited).toBe(1)
  })
})
