import { loadConfig } from '../../config/config.js'
import { AppError, isAppError } from '../../errors/app-error.js'
import { queueSettingsOf } from '../../queue/queue-settings.js'
import { createWorkerMetrics, serveWorkerMetrics } from '../../queue/worker-metrics.js'
import { WriterWorker } from '../../queue/writer-worker.js'
import { assertMigrated } from '../../store/assert-migrated.js'
import { createStore } from '../../store/create-store.js'
import type { CliCommand, CliIo } from '../cli-io.js'
import { usageMessage } from '../cli-io.js'
import {
  assertDatabaseExists,
  errorLine,
  parseCommandArgs,
  runCommand,
  usageError,
} from '../command-context.js'

export const WORKER_HELP = `Usage: tally worker --queue nats://h1:4222,h2:4222 --db postgres://… [options]

Scale-out writer: consumes the JetStream stream the ingest nodes ("tally serve --queue …") publish to and
writes each fetched batch to the database in one transaction, acknowledging it only after the commit. Run
several workers (on several machines): they share one durable consumer. See docs/scale-out.md.

Options (each also an environment variable):
  --queue URLS        TALLY_QUEUE_URL       NATS servers, comma-separated (required)
  --db URL            TALLY_DATABASE_URL    the database (PostgreSQL for several workers)
  --concurrency N     parallel fetch/write loops in this process (default 1, at most 64)
  --batch-size N      events per fetch and transaction (default 1000, at most 100000)
  --metrics-port N    TALLY_WORKER_METRICS_PORT  serve GET /metrics (Prometheus: batches, events,
                      duplicates, failed, poison, write errors, batches in hand) and /healthz on
                      TALLY_HOST (default 127.0.0.1) and this port; off by default
  -h, --help          show this help
Stream: TALLY_QUEUE_STREAM (default TALLY_EVENTS), TALLY_QUEUE_REPLICAS (default 3 with 3+ servers).

Stops gracefully on SIGTERM/SIGINT: writes and acknowledges the batches in hand (waiting at most 10 s;
anything unacknowledged is redelivered to another worker), then exits; a second signal exits at once.
Exit status: 0 stopped cleanly, 1 could not start, 2 usage error.`

/** `tally worker`: see WORKER_HELP. Resolves with the exit code once stopped by a signal. */
export async function workerCommand(
  argv: string[],
  io: CliIo,
  signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
) {
  let values: ReturnType<typeof parseWorkerArgs>
  try {
    values = parseWorkerArgs(argv)
  } catch (e) {
    io.stderr.write(`${errorLine('worker', isAppError(e) ? e : usageError(usageMessage(e)), true)}\n`)
    return 2
  }
  if (values.help) {
    io.stdout.write(`${WORKER_HELP}\n`)
    return 0
  }
  // Each concurrent consumer holds a database connection and a batch in memory.
  const concurrency = positiveInt(values.concurrency, '--concurrency', 1, 64)
  const batchSize = positiveInt(values['batch-size'], '--batch-size', 1000, 100_000)
  const metricsPort = portNumber(values['metrics-port'] ?? io.env.TALLY_WORKER_METRICS_PORT)
  const config = loadConfig(io.env, { db: values.db, queue: values.queue })
  if (config.queueUrl === undefined) throw usageError('--queue (or TALLY_QUEUE_URL) is required')
  // No default database: a worker on the default SQLite file stored acknowledged events where no query
  // node reads them (a trial: 98 events into ./data/tally.db).
  if (values.db === undefined && (io.env.TALLY_DATABASE_URL ?? '') === '')
    throw usageError('--db (or TALLY_DATABASE_URL) is required: the database the query nodes read')
  const settings = queueSettingsOf(config, { batchSize })
  // Without migrating on start there is nothing to create: a mistyped SQLite path must not become a file.
  if (!config.migrateOnStart) assertDatabaseExists(config.databaseUrl)
  const store = await createStore(config.databaseUrl)
  let worker: WriterWorker
  try {
    if (config.migrateOnStart) await store.migrate()
    else await assertMigrated(store)
    worker = await WriterWorker.start({
      settings,
      store,
      concurrency,
      onError: (err, where) => io.stderr.write(`tally worker: ${where} failed: ${(err as Error).message}\n`),
      onNotice: (message) => io.stderr.write(`tally worker: ${message}\n`),
      onPoison: (p) =>
        io.stderr.write(
          `tally worker: terminated poison message (${p.subject}, stream sequence ${p.streamSequence}): ${p.reason}\n`,
        ),
    })
  } catch (err) {
    await store.close()
    throw err
  }
  let metrics: { url: string; close: () => Promise<void> } | undefined
  if (metricsPort !== undefined) {
    try {
      metrics = await serveWorkerMetrics(createWorkerMetrics(worker), {
        host: config.host,
        port: metricsPort,
      })
    } catch (err) {
      await worker.stop()
      await store.close()
      throw new AppError(
        'config_invalid',
        `Cannot serve metrics on ${config.host}:${metricsPort}: ${(err as Error).message}`,
      )
    }
  }
  io.stdout.write(
    `tally worker: consuming ${settings.stream}/${settings.consumer} from ${settings.servers.join(',')}\n`,
  )
  if (metrics) io.stdout.write(`tally worker: metrics at ${metrics.url}/metrics\n`)
  // A progress line every 10 s when something was written (logs, not metrics).
  let last = ''
  const progress = setInterval(() => {
    const line = JSON.stringify(worker.stats)
    if (line !== last) io.stdout.write(`tally worker: ${line}\n`)
    last = line
  }, 10_000)
  progress.unref()
  return new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        io.stderr.write(`tally worker: ${signal} again, exiting without waiting\n`)
        resolve(1)
        return
      }
      stopping = true
      clearInterval(progress)
      const inHand = worker.batchesInHand
      io.stdout.write(
        inHand > 0
          ? `tally worker: ${signal} received, finishing ${inHand} batch${inHand === 1 ? '' : 'es'} in hand (at most 10 s)\n`
          : `tally worker: ${signal} received, no batch in hand, stopping\n`,
      )
      worker
        .stop()
        .then(() => metrics?.close())
        .then(() => store.close())
        .then(
          () => {
            for (const s of signals) process.off(s, stop)
            io.stdout.write(`tally worker: stopped ${JSON.stringify(worker.stats)}\n`)
            resolve(0)
          },
          (e: unknown) => {
            io.stderr.write(`tally worker: error while stopping: ${(e as Error).message}\n`)
            resolve(1)
          },
        )
    }
    for (const s of signals) process.on(s, stop)
  })
}

function parseWorkerArgs(argv: string[]) {
  const { values, positionals } = parseCommandArgs(argv, {
    queue: { type: 'string' },
    db: { type: 'string' },
    concurrency: { type: 'string' },
    'batch-size': { type: 'string' },
    'metrics-port': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  })
  if (positionals.length > 0) throw usageError(`unexpected argument ${JSON.stringify(positionals[0])}`)
  return values
}

function positiveInt(value: string | undefined, flag: string, fallback: number, max: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < 1 || n > max)
    throw usageError(`${flag} must be a whole number from 1 to ${max}`)
  return n
}

function portNumber(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined
  const n = Number(value)
  if (!/^\d+$/.test(value) || n > 65_535) throw usageError('--metrics-port must be a port number (0–65535)')
  return n
}

export const workerCli: CliCommand = {
  summary: 'Scale-out writer: consume the JetStream stream into the database',
  // Through runCommand: a bad setting exits 2 with its code, as for `serve` and every command (it was 1).
  run: (argv, io) => runCommand('worker', io, () => workerCommand(argv, io)),
}
