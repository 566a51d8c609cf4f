import type { BootstrapResult } from '../../app/bootstrap.js'
import { createApp, type TallyApp } from '../../app/create-app.js'
import { type Config, ConfigSchema, ENV_NAMES, FLAG_NAMES, loadConfig } from '../../config/config.js'
import { isAppError } from '../../errors/app-error.js'
import { maskDatabasePassword, usageMessage } from '../cli-io.js'
import { errorLine, parseCommandArgs, usageError } from '../command-context.js'

export const SERVE_HELP = `Usage: tally serve [--db URL] [--port N] [--host HOST] [--log-level LEVEL] [--queue URLS] [--ingest-only]

Starts the HTTP server: native API under /api/v1, Segment-compatible ingest under /v1,
/healthz, /readyz, /metrics, /openapi.json and /docs.

Options (each wins over its environment variable, listed below):
  --db URL           sqlite:PATH or postgres://…
  --port N           TCP port
  --host HOST        interface to listen on (0.0.0.0 for all)
  --log-level LEVEL  fatal, error, warn, info, debug, trace or silent
  --queue URLS       scale-out: publish to NATS JetStream (nats://h1:4222,h2:4222)
                     instead of writing the database; "tally worker" writes it
  --ingest-only      serve only ingest, health and metrics routes
  -h, --help         show this help

Environment variables (flag) and their defaults (README "Configuration" explains each):
${variablesHelp()}

Keys: set TALLY_WRITE_KEY, TALLY_READ_KEY, TALLY_ADMIN_KEY to choose the default project's keys (changing
one revokes the key it set before); otherwise keys are created on first start and printed once.
Stops gracefully on SIGTERM/SIGINT: stops accepting, writes queued events, closes the database.`

/** One line per configuration variable, from the config schema itself: name, flag, default. */
function variablesHelp(): string {
  const rows = Object.entries(ENV_NAMES).map(([key, name]) => {
    const flag = FLAG_NAMES[key as keyof typeof FLAG_NAMES]
    const schema = ConfigSchema.properties[key as keyof typeof ConfigSchema.properties] as {
      default?: unknown
    }
    const fallback = /^TALLY_(WRITE|READ|ADMIN)_KEY$/.test(name) ? 'generated on first start' : 'not set'
    let value = schema.default === undefined || schema.default === '' ? fallback : String(schema.default)
    if (key === 'queueReplicas') value += ' (auto: 3 with three or more servers, else 1)'
    return [flag ? `${name} (${flag})` : name, value] as const
  })
  const width = Math.max(...rows.map(([left]) => left.length)) + 2
  return rows.map(([left, value]) => `  ${left.padEnd(width)}${value}`).join('\n')
}

export interface ServeIo {
  env?: Record<string, string | undefined>
  stdout?: (line: string) => void
  stderr?: (line: string) => void
  /** Signals that stop the server. Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[]
  /** Called once listening (tests). */
  onListening?: (app: TallyApp, url: string) => void
  /** Ends the process when a stop is forced (default `process.exit`). */
  exit?: (code: number) => void
}

/**
 * Text printed at start: where the server is, which keys it knows (secrets only when new), and the dashboard
 * and API docs only where this node serves them (not on --ingest-only, docs not with TALLY_DOCS=false).
 */
export function formatStartBanner(
  url: string,
  databaseUrl: string,
  bootstrap: BootstrapResult,
  served: Pick<Config, 'ingestOnly' | 'docs'> = { ingestOnly: false, docs: true },
): string {
  const lines = [
    `Tally listening on ${url}  (database ${maskDatabasePassword(databaseUrl)})`,
    `Project "${bootstrap.project.id}" keys:`,
  ]
  let anyNew = false
  for (const key of bootstrap.keys) {
    // A key the operator set is theirs already: printing it on every start put secrets in log collectors.
    const shown =
      key.source === 'existing'
        ? `${key.prefix}…  (created earlier; secret not stored)`
        : key.source === 'environment'
          ? `${key.prefix}…`
          : key.secret
    const note =
      key.source === 'generated'
        ? '  (new — shown only now, save it)'
        : key.source === 'environment'
          ? '  (from environment)'
          : ''
    if (key.source === 'generated') anyNew = true
    lines.push(`  ${key.role.padEnd(5)}  ${shown}${note}`)
  }
  if (anyNew) lines.push('Create more keys with POST /api/v1/keys or `tally keys create` (admin).')
  if (served.ingestOnly) {
    lines.push('Ingest-only node: serves ingest (/api/v1/events, /v1/*), /healthz, /readyz and /metrics')
  } else {
    const docs = served.docs ? `   API docs: ${url}/docs` : ''
    lines.push(`Dashboard: ${url}/ (log in with the read or admin key)${docs}`)
  }
  return lines.join('\n')
}

/**
 * `tally serve`: loads the config (flags over env), composes the app, listens, prints URL and keys, and
 * resolves with the exit code once stopped by a signal (0 after a clean shutdown).
 */
export async function serveCommand(argv: string[], io: ServeIo = {}): Promise<number> {
  const out = io.stdout ?? ((line: string) => process.stdout.write(`${line}\n`))
  const err = io.stderr ?? ((line: string) => process.stderr.write(`${line}\n`))
  let flags: ReturnType<typeof parseServeArgs>
  try {
    flags = parseServeArgs(argv)
  } catch (e) {
    err(errorLine('serve', isAppError(e) ? e : usageError(usageMessage(e)), true))
    return 2
  }
  if (flags.help) {
    out(SERVE_HELP)
    return 0
  }
  let app: TallyApp
  try {
    const config = loadConfig(io.env ?? process.env, {
      db: flags.db,
      port: flags.port,
      host: flags.host,
      logLevel: flags['log-level'],
      queue: flags.queue,
      ingestOnly: flags['ingest-only'],
    })
    app = await createApp(config)
  } catch (e) {
    // A bad setting is the command line's fault (exit 2, as for every command: docs/cli.md).
    const usage = isAppError(e) && e.code === 'config_invalid'
    err(isAppError(e) ? errorLine('serve', e, usage) : `tally serve: ${(e as Error).stack}`)
    return usage ? 2 : 1
  }
  let url: string
  try {
    url = await app.listen()
  } catch (e) {
    // The address is the operator's to change: named by its variables, with the stable code and exit 2 of
    // every other bad setting (docs/cli.md).
    const code = (e as NodeJS.ErrnoException).code
    const why =
      code === 'EADDRINUSE'
        ? 'the port is in use by another process; choose another TALLY_PORT (--port)'
        : code === 'EACCES'
          ? 'this user may not listen on that port; choose TALLY_PORT (--port) 1024 or above'
          : code === 'ENOTFOUND' || code === 'EADDRNOTAVAIL' || code === 'EAI_AGAIN'
            ? 'no interface of this machine has that address; set TALLY_HOST (--host) to one of its addresses, or 0.0.0.0'
            : (e as Error).message
    err(
      `tally serve: Invalid configuration: cannot listen on ${app.config.host}:${app.config.port}: ${why} (config_invalid)`,
    )
    // Start-up stored these keys before listening; their secrets exist only now. Unprinted, the next start
    // said "created earlier; secret not stored" and the project had no key anyone knew.
    const created = app.bootstrap.keys.filter((k) => k.source === 'generated' && k.secret !== undefined)
    if (created.length > 0) {
      err(
        `Project "${app.bootstrap.project.id}" keys were created before the server failed to start — shown only now, save them:`,
      )
      for (const key of created) err(`  ${key.role.padEnd(5)}  ${key.secret}`)
    }
    await app.close().catch(() => {})
    return 2
  }
  const stopped = new Promise<number>((resolve) => {
    const signals = io.signals ?? ['SIGTERM', 'SIGINT']
    let stopping = false
    // A forced stop must end the process: a client still sending its body keeps its socket (and so the
    // process) open for ever — closing the server also stops Node's request-timeout checks. Its request was
    // never answered, so nothing acknowledged is lost.
    const forceStop = (why: string) => {
      err(why)
      app.server.server.closeAllConnections()
      resolve(1)
      ;(io.exit ?? process.exit)(1)
    }
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return forceStop(`tally serve: ${signal} again, exiting without waiting`)
      stopping = true
      out(`tally serve: ${signal} received, shutting down`)
      const timer = setTimeout(
        () => forceStop(`tally serve: shutdown took longer than ${app.config.shutdownTimeoutMs} ms, exiting`),
        app.config.shutdownTimeoutMs,
      )
      timer.unref()
      app.close().then(
        () => {
          clearTimeout(timer)
          for (const s of signals) process.off(s, stop)
          out('tally serve: stopped')
          resolve(0)
        },
        (e: unknown) => {
          clearTimeout(timer)
          err(`tally serve: error while shutting down: ${(e as Error).message}`)
          resolve(1)
        },
      )
    }
    for (const s of signals) process.on(s, stop)
  })
  // After the handlers: a supervisor may send SIGTERM the moment it reads the banner, and a signal with no
  // handler yet kills the process without the graceful shutdown (seen under load in the serve test).
  out(formatStartBanner(url, app.config.databaseUrl, app.bootstrap, app.config))
  io.onListening?.(app, url)
  return stopped
}

function parseServeArgs(argv: string[]) {
  const { values, positionals } = parseCommandArgs(argv, {
    db: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'log-level': { type: 'string' },
    queue: { type: 'string' },
    'ingest-only': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  if (positionals.length > 0) throw usageError(`unexpected argument ${JSON.stringify(positionals[0])}`)
  return values
}
