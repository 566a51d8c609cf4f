import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * The README's first command, as a supervisor runs it: `npm start`, then SIGTERM to npm. npm forwards the
 * signal to its script's process; before `exec` in the start script that was a shell, which died and left
 * the server running on its own (no graceful shutdown, the port still held).
 */
describe('npm start', () => {
  it('should serve, and shut down gracefully when npm gets SIGTERM', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-npm-start-'))
    try {
      const npm = spawn('npm', ['start'], {
        cwd: process.cwd(),
        env: { ...process.env, TALLY_PORT: '0', TALLY_DATABASE_URL: `sqlite:${join(dir, 'tally.db')}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let output = ''
      npm.stdout.on('data', (d) => (output += d))
      npm.stderr.on('data', (d) => (output += d))
      const npmExited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)))
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (/API docs: http:\/\/127\.0\.0\.1:\d+/.test(output)) {
            clearInterval(timer)
            resolve()
          }
        }, 100)
        npm.on('exit', (code) => {
          clearInterval(timer)
          reject(new Error(`npm start exited ${code}: ${output}`))
        })
      })
      const url = /API docs: (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]
      expect((await fetch(`${url}/healthz`)).status).toBe(200)

      npm.kill('SIGTERM')
      expect(await npmExited).toBe(0)
      expect(output).toContain('tally serve: stopped')
      // The server itself is gone, not only npm: nothing answers on its port.
      await expect(fetch(`${url}/healthz`)).rejects.toThrow()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
