#!/usr/bin/env node
import { readFileSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { isAppError } from '../errors/app-error.js'
import type { CliCommand, CliIo } from './cli-io.js'
import { CommandLineError, errorLine, usageError } from './command-context.js'
import { auditCli } from './commands/audit.js'
import { exportCli } from './commands/export.js'
import { failedCli } from './commands/failed.js'
import { importCli } from './commands/import.js'
import { keysCli } from './commands/keys.js'
import { migrateCli } from './commands/migrate.js'
import { projectsCli } from './commands/projects.js'
import { purgeCli } from './commands/purge.js'
import { queryCli } from './commands/query.js'
import { schemaCli } from './commands/schema.js'
import { SERVE_HELP, serveCommand } from './commands/serve.js'
import { statsCli } from './commands/stats.js'
import { validateCli } from './commands/validate.js'
import { workerCli } from './commands/worker.js'

/**
 * `tally <command> [args]`. To add a command, write `commands/<name>.ts` exporting a `CliCommand`
 * (or a `(argv, io) => Promise<number>`) and register it below with one line.
 */
export const COMMANDS: Record<string, CliCommand> = {
  serve: {
    summary: SERVE_HELP.split('\n')[2] ?? 'Start the HTTP server',
    run: (argv, io) =>
      serveCommand(argv, {
        env: io.env,
        stdout: (line) => io.stdout.write(`${line}\n`),
        stderr: (line) => io.stderr.write(`${line}\n`),
      }),
  },
  validate: validateCli,
  migrate: migrateCli,
  import: importCli,
  export: exportCli,
  query: queryCli,
  stats: statsCli,
  schema: schemaCli,
  projects: projectsCli,
  keys: keysCli,
  failed: failedCli,
  purge: purgeCli,
  audit: auditCli,
  worker: workerCli,
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length))
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  return `Usage: tally <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "tally <command> --help" for a command's options.`
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    return String(pkg.version)
  } catch {
    return 'unknown'
  }
}

/** Runs the CLI in-process; returns the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined) {
    io.stderr.write(`${usage()}\n`)
    return 2
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${usage()}\n`)
    return 0
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${version()}\n`)
    return 0
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
  if (command === undefined) {
    io.stderr.write(`${errorLine('', usageError(`unknown command "${name}"`), true)}\n\n${usage()}\n`)
    return 2
  }
  try {
    return await command.run(rest, io)
  } catch (err) {
    // Commands that do not go through runCommand (serve, worker) throw here.
    if (isAppError(err)) {
      const usage = err.code === 'usage' || err instanceof CommandLineError
      io.stderr.write(`${errorLine(name, err, usage)}\n`)
      return usage ? 2 : 1
    }
    io.stderr.write(`tally ${name}: internal error: ${(err as Error)?.stack ?? String(err)}\n`)
    return 1
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isEntryPoint()) {
  // `tally export | head -1`: the reader is gone, which is the pipeline's business, not an error to report
  // with a stack trace (docs/cli.md: stdout can be piped). Stop quietly, as Unix tools do.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0)
    throw err
  })
  main(process.argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  }).then((code) => {
    process.exitCode = code
    // A server that failed to start may leave a library's socket open: the NATS client kept one to a port
    // that was not NATS, and `tally worker`/`serve` then never exited after reporting the failure (a
    // trial). Only those two, which print little: other commands exit naturally, so piped output (a
    // `tally validate` that found invalid events exits 1) is never cut.
    const command = process.argv[2]
    if (code !== 0 && (command === 'serve' || command === 'worker'))
      setTimeout(() => process.exit(code), 1000).unref()
  })
}
