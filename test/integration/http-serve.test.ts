import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
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
  return { child, banner, exited, output: () => stdout, errors: () => stderr }
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

  it('should exit when the shutdown timeout passes while a client is still sending its body', async () => {
    // A trial: the process was still alive 51 s after SIGTERM, a second SIGTERM and a 2 s timeout (the
    // slow client's socket kept it open, and closing the server had stopped the request-timeout checks).
    dir = mkdtempSync(join(tmpdir(), 'tally-serve-'))
    const server = startServe(['--db', `sqlite:${join(dir, 'tally.db')}`, '--port', '0'], {
      TALLY_SHUTDOWN_TIMEOUT_MS: '500',
    })
    const banner = await server.banner
    const { hostname, port } = new URL(/listening on (http:\/\/\S+)/.exec(banner)![1])
    const writeKey = /write\s+(tly_w_\S+)/.exec(banner)![1]
    const socket = connect(Number(port), hostname)
    await once(socket, 'connect')
    socket.on('error', () => {})
    socket.write(
      `POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${writeKey}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"type":',
    )
    const drip = setInterval(() => socket.write(' '), 100)
    try {
      await new Promise((r) => setTimeout(r, 300))
      server.child.kill('SIGTERM')
      expect(await server.exited).toBe(1)
      expect(server.errors()).toContain('shutdown took longer than 500 ms, exiting')
    } finally {
      clearInterval(drip)
      socket.destroy()
    }
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
