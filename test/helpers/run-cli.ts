import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { main } from '../../src/cli/index.js'

/** What one in-process CLI run produced. */
export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/** Runs `tally ...argv` in-process with `stdin` as input and an empty environment (plus `env`). */
export async function runCli(
  argv: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CliRun> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const out: string[] = []
  const err: string[] = []
  stdout.on('data', (d) => out.push(String(d)))
  stderr.on('data', (d) => err.push(String(d)))
  const code = await main(argv, {
    stdin: Readable.from([Buffer.from(options.stdin ?? '')]),
    stdout,
    stderr,
    env: { ...options.env },
  })
  return { code, stdout: out.join(''), stderr: err.join('') }
}

/** A temporary directory with a SQLite URL inside it; `remove()` deletes both. */
export function tempDatabase(prefix = 'tally-cli-'): { dir: string; url: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {
    dir,
    url: `sqlite:${join(dir, 'tally.db')}`,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** NDJSON text for events (strings are written as they are, e.g. a deliberately broken line). */
export function ndjson(...events: unknown[]): string {
  return `${events.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('\n')}\n`
}
