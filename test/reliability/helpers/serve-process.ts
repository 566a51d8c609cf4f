import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../../../src/cli/index.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** The default project's keys in every reliability server (TALLY_*_KEY). */
export const SERVE_KEYS = {
  write: 'tly_w_reliability-write-key-000001',
  read: 'tly_r_reliability-read-key-0000001',
  admin: 'tly_a_reliability-admin-key-000001',
} as const

/** A real `tally serve` process. */
export interface ServeProcess {
  readonly child: ChildProcess
  readonly url: string
  /** Everything the process wrote so far (stdout + stderr: the banner and pino's JSON lines). */
  output(): string
  /** Peak resident set size of the process so far (VmHWM), bytes; 0 when /proc is unavailable. */
  peakRss(): number
  /** Current resident set size (VmRSS), bytes. */
  rss(): number
  /** Resolves once the process is gone (without signalling it). */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Sends `signal` and resolves once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function procStatus(pid: number | undefined, field: string): number {
  if (pid === undefined) return 0
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}

/**
 * Spawns `node --import tsx src/cli/index.ts serve` on a free port with `env` (TALLY_DATABASE_URL at least)
 * and resolves once it printed its URL. Rejects with the output if it exits first or takes > 30 s.
 */
export function startServe(
  env: Record<string, string>,
  extraArgs: string[] = [],
  options: { uid?: number; gid?: number } = {},
): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', ...extraArgs], {
    cwd: ROOT,
    ...options,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      TALLY_PORT: '0',
      TALLY_LOG_LEVEL: 'info',
      TALLY_WRITE_KEY: SERVE_KEYS.write,
      TALLY_READ_KEY: SERVE_KEYS.read,
      TALLY_ADMIN_KEY: SERVE_KEYS.admin,
      TALLY_DOCS: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`tally serve did not start in 30 s:\n${out}`))
    }, 30_000)
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8')
      const m = /Tally listening on (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({
          child,
          url: m[1],
          output: () => out,
          peakRss: () => procStatus(child.pid, 'VmHWM'),
          rss: () => procStatus(child.pid, 'VmRSS'),
          exited: () => exited,
          stop(signal: NodeJS.Signals = 'SIGTERM') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal)
            return exited
          },
        })
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`tally serve exited (${code ?? signal}) before listening:\n${out}`))
    })
  })
}
