import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** True when running in CI: a missing nats-server fails the scale-out tests instead of skipping them. */
export const IN_CI_NATS = process.env.CI === 'true' || process.env.CI === '1'

/** Resolves the nats-server binary (PATH or Debian's /usr/sbin), or undefined. */
export function findNatsServer(): string | undefined {
  for (const candidate of ['nats-server', '/usr/sbin/nats-server', '/usr/bin/nats-server']) {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' })
      return candidate
    } catch {}
  }
  return undefined
}

/** A free loopback TCP port (never 4222: the OS picks from the ephemeral range). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address()
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()))
    })
  })
}

interface NodeSpec {
  name: string
  clientPort: number
  clusterPort: number
  monitorPort: number
  storeDir: string
  configPath: string
  logPath: string
}

/** A nats-server cluster on loopback with its own fresh JetStream store directories. */
export interface NatsCluster {
  /** `nats://127.0.0.1:p1,nats://127.0.0.1:p2,…` — what `--queue` takes. */
  readonly url: string
  readonly clientUrls: readonly string[]
  /** SIGKILLs node `i` (its store directory is kept, as after a crash). */
  kill(i: number): void
  /** Starts node `i` again on the same ports and store directory. */
  restart(i: number): Promise<void>
  isRunning(i: number): boolean
  /**
   * Node `i`'s OWN copy of a stream, from its monitoring endpoint (/jsz) — not the leader's view, which
   * nats-server 2.9 may report as current for a replica that stayed behind. Undefined when it has none.
   */
  streamState(i: number, stream: string): Promise<{ messages: number; lastSeq: number } | undefined>
  stop(): Promise<void>
}

/**
 * Starts `size` nats-server processes with `-js`, clustered by routes to each other, each with a fresh store
 * directory under one temp directory (fresh directories avoid nats-server 2.9's replica-recovery bug with
 * recreated streams). Resolves once every client port accepts connections.
 */
export async function startNatsCluster(size = 3, binary = findNatsServer()): Promise<NatsCluster> {
  if (binary === undefined) throw new Error('nats-server is not installed')
  const root = mkdtempSync(join(tmpdir(), 'tally-nats-'))
  const nodes: NodeSpec[] = []
  for (let i = 0; i < size; i++) {
    const storeDir = join(root, `n${i}`)
    nodes.push({
      name: `n${i}`,
      clientPort: await freePort(),
      clusterPort: await freePort(),
      monitorPort: await freePort(),
      storeDir,
      configPath: join(root, `n${i}.conf`),
      logPath: join(root, `n${i}.log`),
    })
  }
  for (const node of nodes) {
    const routes = nodes
      .filter((n) => n !== node)
      .map((n) => `"nats-route://127.0.0.1:${n.clusterPort}"`)
      .join(', ')
    writeFileSync(
      node.configPath,
      [
        `server_name: ${node.name}`,
        `listen: 127.0.0.1:${node.clientPort}`,
        `http: 127.0.0.1:${node.monitorPort}`,
        `jetstream { store_dir: "${node.storeDir}", max_memory_store: 256MB, max_file_store: 2GB }`,
        // A single server needs no cluster block (with one and no routes it did not come up here).
        size > 1
          ? `cluster { name: tally-test, listen: 127.0.0.1:${node.clusterPort}, routes: [${routes}] }`
          : '',
        `log_file: "${node.logPath}"`,
        '',
      ].join('\n'),
    )
  }
  const procs: (ChildProcess | undefined)[] = new Array(size).fill(undefined)
  const start = async (i: number) => {
    const child = spawn(binary, ['-c', nodes[i].configPath], { stdio: 'ignore' })
    procs[i] = child
    child.once('exit', () => {
      if (procs[i] === child) procs[i] = undefined
    })
    await waitForPort(nodes[i].clientPort, 10_000)
  }
  await Promise.all(nodes.map((_, i) => start(i)))
  const clientUrls = nodes.map((n) => `nats://127.0.0.1:${n.clientPort}`)
  return {
    url: clientUrls.join(','),
    clientUrls,
    kill(i) {
      procs[i]?.kill('SIGKILL')
      procs[i] = undefined
    },
    restart: start,
    isRunning: (i) => procs[i] !== undefined,
    async streamState(i, stream) {
      const res = await fetch(`http://127.0.0.1:${nodes[i].monitorPort}/jsz?accounts=true&streams=true`)
      const jsz = (await res.json()) as {
        account_details?: {
          stream_detail?: { name: string; state: { messages: number; last_seq: number } }[]
        }[]
      }
      for (const account of jsz.account_details ?? []) {
        for (const detail of account.stream_detail ?? []) {
          if (detail.name === stream)
            return { messages: detail.state.messages, lastSeq: detail.state.last_seq }
        }
      }
      return undefined
    },
    async stop() {
      await Promise.all(
        procs.map(
          (p) =>
            new Promise<void>((resolve) => {
              if (!p || p.exitCode !== null) return resolve()
              p.once('exit', () => resolve())
              p.kill('SIGKILL')
            }),
        ),
      )
      rmSync(root, { recursive: true, force: true })
    },
  }
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const { connect } = await import('node:net')
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`nats-server did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`)
}
