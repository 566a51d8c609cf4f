import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { ensureConsumer, openQueue } from '../../src/queue/jetstream-setup.js'
import { type QueueSettings, resolveQueueSettings } from '../../src/queue/queue-settings.js'

export const WRITE_KEY = 'tally_test_write_key_0123456789'
const CLI = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url))

/** A unique stream (nats-server 2.9 mishandles streams recreated under the same name) and its consumer. */
export async function createTestStream(
  servers: string[],
  extra: Partial<QueueSettings> = {},
): Promise<QueueSettings> {
  const settings = resolveQueueSettings({
    servers,
    stream: `T_${randomBytes(5).toString('hex')}`,
    subjectPrefix: `t${randomBytes(4).toString('hex')}`,
    maxBytes: 64 * 1024 * 1024,
    ackWaitMs: 3_000,
    ...extra,
  })
  const { nc, jsm } = await openQueue(settings, 'test-setup')
  try {
    await ensureConsumer(jsm, settings)
  } finally {
    await nc.close()
  }
  return settings
}

/** Rows of `events` in the database: total and distinct (project, messageId). */
export async function countEvents(url: string): Promise<{ rows: number; distinct: number; failed: number }> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const e = await client.query(
      'select count(*)::int as rows, count(distinct (project_id, message_id))::int as distinct from events',
    )
    const f = await client.query('select count(*)::int as failed from failed_events')
    return { rows: e.rows[0].rows, distinct: e.rows[0].distinct, failed: f.rows[0].failed }
  } finally {
    await client.end()
  }
}

/** The messageIds stored in `events`. */
export async function storedMessageIds(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const r = await client.query('select message_id from events')
    return r.rows.map((row: { message_id: string }) => row.message_id)
  } finally {
    await client.end()
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes; resolves whether it did. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 200) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, everyMs))
  }
  return check()
}

/** A `tally serve|worker` child process; resolves once it printed `ready` (a regex over stdout). */
export interface TallyChild {
  readonly process: ChildProcess
  /** For `serve`: the base URL it listens on. */
  readonly url: string
  output(): string
  kill(signal?: NodeJS.Signals): Promise<void>
}

export async function startTallyChild(
  argv: string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 60_000,
): Promise<TallyChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...argv], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout?.on('data', (d) => {
    out += String(d)
  })
  child.stderr?.on('data', (d) => {
    out += String(d)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const ok = await waitFor(() => ready.test(out) || child.exitCode !== null, timeoutMs, 50)
  const match = ready.exec(out)
  if (!ok || !match) {
    child.kill('SIGKILL')
    throw new Error(`tally ${argv[0]} did not start:\n${out}`)
  }
  return {
    process: child,
    url: match[1] ?? '',
    output: () => out,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    },
  }
}
