import type { Readable, Writable } from 'node:stream'

/** The streams a command talks to; injected so tests run commands in-process. */
export interface CliIo {
  stdin: Readable
  stdout: Writable
  stderr: Writable
  env: Record<string, string | undefined>
}

/**
 * A CLI command: `run` takes the arguments after the command name and returns the exit code
 * (0 success, 1 the input or work failed, 2 usage error). It handles its own `--help`.
 */
export interface CliCommand {
  /** One line for `tally --help`. */
  summary: string
  run(argv: string[], io: CliIo): Promise<number>
}

/** Writes `text` and waits for the stream to drain if its buffer is full (back-pressure). */
export function writeOut(stream: Writable, text: string): Promise<void> | undefined {
  if (stream.write(text)) return undefined
  return new Promise((resolve) => stream.once('drain', () => resolve()))
}

/** Turns a parseArgs error into a one-line usage message. */
export function usageMessage(err: unknown): string {
  const message = err instanceof Error ? err.message.split('\n')[0] : String(err)
  // parseArgs' own sentence ends in an unbalanced quote (`as in '-- "--bogus"`): keep only what matters.
  const unknown = /^Unknown option '([^']+)'/.exec(message)
  return unknown ? `unknown option ${unknown[1]}` : message
}

/** A database URL fit for output: a password in it is masked (`postgres://tally:***@db/tally`). */
export function maskDatabasePassword(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
}
