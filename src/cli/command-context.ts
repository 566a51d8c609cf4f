import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { DEFAULT_PROJECT_ID } from '../app/bootstrap.js'
import { type AuditAction, AuditLog, cliActor } from '../audit/audit-log.js'
import { ENV_NAMES, loadConfig } from '../config/config.js'
import { createEventFormatter } from '../enrich/event-formatter.js'
import { AppError, isAppError } from '../errors/app-error.js'
import type { ErrorCode } from '../errors/codes.js'
import { ProjectRuntimeCache } from '../ingest/project-runtime.js'
import type { ReplayDeps } from '../ingest/replay-failed-events.js'
import { MAX_ID_LENGTH } from '../schema/primitives.js'
import { pendingMigrationsError } from '../store/assert-migrated.js'
import { createDialect, createStore } from '../store/create-store.js'
import type { KyselyEventStore } from '../store/kysely-event-store.js'
import { DEFAULT_PROJECT_SETTINGS } from '../store/project-types.js'
import { SqliteStoreDialect } from '../store/sqlite/sqlite-dialect.js'
import { EventValidator } from '../validate/event-validator.js'
import { isPlainText } from '../validate/formats.js'
import { type CliIo, maskDatabasePassword, usageMessage, writeOut } from './cli-io.js'

/**
 * What the database commands share: `--db`, `--project`, `--help`, opening the store the way `tally serve`
 * does (same URL resolution, same migrate-on-start rule), and turning every failure into an exit code with
 * a one-line message — never a stack trace.
 */

/** Options every database command accepts. */
export const DATABASE_OPTIONS = {
  db: { type: 'string' },
  project: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

/** Text for the help of every database command. */
export const DATABASE_HELP = `  --db URL        database (TALLY_DATABASE_URL); default sqlite:./data/tally.db
  --project ID    project (default "default")
  -h, --help      show this help`

/** Error codes that mean "the command line was wrong": exit 2. Everything else a command reports is exit 1. */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'usage',
  'config_invalid',
  'validation_failed',
  'invalid_cursor',
])

/** Throws AppError('usage'): the command line is wrong (exit 2). */
export function usageError(message: string): AppError {
  return new AppError('usage', message)
}

/** The usage error of a command with sub-actions when the action is missing or unknown. */
export function unknownActionError(action: string | undefined, actions: string): AppError {
  return usageError(
    action === undefined
      ? `missing action: ${actions}`
      : `unknown action ${JSON.stringify(action)}; ${actions}`,
  )
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>
/** What `parseCommandArgs` returns for options `O`. */
export type ParsedCommandArgs<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
>

/**
 * `parseArgs` in strict mode; an unknown flag or a missing value becomes AppError('usage'). A value that
 * looks like a negative number (`--older-than -1d`, `--limit -5`) is taken as the option's value, as
 * `--older-than=-1d` is, so the option's own check can say what is wrong with it: `parseArgs` calls
 * any value starting with "-" ambiguous, and no option name starts with a digit.
 */
export function parseCommandArgs<O extends OptionsConfig>(argv: string[], options: O): ParsedCommandArgs<O> {
  try {
    return parseArgs({
      args: joinNegativeValues(argv, options),
      options,
      allowPositionals: true,
      strict: true,
    })
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const ambiguous = /^Option '(--[^' ]+)' argument is ambiguous/.exec(e?.message ?? '')
    if (e?.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && ambiguous) {
      const flag = ambiguous[1]
      throw usageError(`${flag} is missing its value (for a value starting with "-", write ${flag}=-…)`)
    }
    throw usageError(usageMessage(err))
  }
}

/** `--name -1d` → `--name=-1d` for string options (up to a `--` that ends the options). */
function joinNegativeValues(argv: string[], options: OptionsConfig): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') {
      out.push(...argv.slice(i))
      break
    }
    const next = argv[i + 1]
    const name = arg.startsWith('--') ? arg.slice(2) : undefined
    if (
      name !== undefined &&
      Object.hasOwn(options, name) &&
      options[name].type === 'string' &&
      next !== undefined &&
      /^-\d/.test(next)
    ) {
      out.push(`${arg}=${next}`)
      i++
    } else {
      out.push(arg)
    }
  }
  return out
}

/**
 * An error the command line caused whatever its code — e.g. `validate --schemas DIR` naming an invalid
 * schema (`schema_invalid`): reported with its own code, but exit 2 like a usage error.
 */
export class CommandLineError extends AppError {}

/** `err` as a CommandLineError (exit 2), its message prefixed with `prefix` (e.g. the flag). */
export function commandLineError(err: AppError, prefix = ''): CommandLineError {
  return new CommandLineError(err.code, `${prefix}${err.message}`, { cause: err.cause, details: err.details })
}

/** True when an AppError means "the command line was wrong" (exit 2). */
export function isUsageType(err: AppError): boolean {
  return err instanceof CommandLineError || USAGE_CODES.has(err.code)
}

/**
 * The one line (without newline) every CLI error is reported as, ending in its stable code from
 * docs/errors.md: `tally CMD: message (code)`. A usage-type error (`usage` true, exit 2) says where to
 * look before the code: `tally CMD: message; see "tally CMD --help" (usage)`. An AppError's cause is
 * added when its message does not already say it (no "schema is invalid: …: schema is invalid: …"); an
 * error that is not an AppError ends in its errno code when it has one. `command` '' is the `tally` command itself.
 */
export function errorLine(command: string, err: unknown, usage: boolean): string {
  const who = command === '' ? 'tally' : `tally ${command}`
  const hint = usage ? `; see "${who} --help"` : ''
  if (isAppError(err)) {
    if (err.code === 'invalid_cursor') {
      // The cause is JSON.parse's complaint about whatever bytes the text decoded to: noise, often binary.
      return `${who}: invalid cursor: ${lowerFirst(oneLine(err.message))}${hint} (${err.code})`
    }
    const message = oneLine(err.message)
    const cause = causeSuffix(message, err.cause)
    return `${who}: ${message}${cause}${hint} (${err.code})`
  }
  const e = err as NodeJS.ErrnoException
  const message = oneLine(String(e?.message ?? err))
  const code = e?.code && !message.includes(e.code) ? ` (${e.code})` : ''
  return `${who}: ${message}${hint}${code}`
}

/**
 * Runs a command body and maps what it throws to an exit code — a usage-type AppError → 2, anything else
 * → 1 — writing it as one `errorLine`, never a stack trace.
 */
export async function runCommand(name: string, io: CliIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body()
  } catch (err) {
    const usage = isAppError(err) && isUsageType(err)
    io.stderr.write(`${errorLine(name, err, usage)}\n`)
    return usage ? 2 : 1
  }
}

/** `: <the cause's message>` unless `message` says it already (the text, or a system error's code). */
function causeSuffix(message: string, cause: unknown): string {
  if (!(cause instanceof Error)) return ''
  const text = oneLine(cause.message)
  const code = (cause as NodeJS.ErrnoException).code
  if (text === '' || message.includes(text) || (typeof code === 'string' && message.includes(code))) return ''
  return `: ${text}`
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1)
}

function oneLine(text: string): string {
  return text.split('\n')[0]
}

/** An open store and the project a command works on. */
export interface CommandContext {
  store: KyselyEventStore
  projectId: string
  databaseUrl: string
}

export interface OpenOptions {
  /** Apply pending migrations first (as `tally serve` does unless TALLY_MIGRATE_ON_START=false). Default true. */
  migrate?: boolean
  /** Check that the project exists (creating `default` when absent, as `tally serve` would). Default true. */
  project?: boolean
  /**
   * Create the database when it does not exist yet (a SQLite file and its directory), as `tally serve`
   * does. Only commands that add to the database pass true (migrate, import, keys create, schema add,
   * projects create); the others refuse a database that is not there, so a mistyped `--db` cannot leave an
   * empty one behind and answer "no events". Default false.
   */
  create?: boolean
}

/** Longest project id, in UTF-16 code units: the bound of every other identifier (MAX_ID_LENGTH). */
export const MAX_PROJECT_ID_LENGTH = MAX_ID_LENGTH

/**
 * What is wrong with `id` as a project id, or null. A project id is an identifier like the event model's
 * (`userId`, `messageId`): 1–255 characters of plain text — no control characters (a NUL cannot be stored
 * in PostgreSQL; a newline would break the one-line CLI messages) and no lone surrogates — and, since it
 * is typed on command lines, no leading or trailing whitespace. `tally projects create` and `--project`
 * apply the same rule, so every project that can be created can be named.
 */
export function projectIdProblem(id: string): string | null {
  if (id.length === 0 || id.length > MAX_PROJECT_ID_LENGTH) {
    return `must be 1–${MAX_PROJECT_ID_LENGTH} characters${id.length === 0 ? '' : ` (got ${id.length})`}`
  }
  if (!isPlainText(id)) return 'must not contain control characters or lone surrogates'
  if (id.trim() !== id) return 'must not start or end with whitespace'
  return null
}

/** `text` as one shell word for a command line a message suggests: as it is when safe, else single-quoted. */
export function shellWord(text: string): string {
  return /^[\w.:@%+=,/-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`
}

/** The project `--project` names (default `default`); throws AppError('usage') for an impossible id. */
export function resolveProjectId(values: { project?: string }): string {
  const projectId = values.project ?? DEFAULT_PROJECT_ID
  const problem = projectIdProblem(projectId)
  if (problem !== null) throw usageError(`--project ${problem}`)
  return projectId
}

/**
 * The part of the environment a command that opens the database reads. The server's own settings (port,
 * limits, CORS, …) are not checked here: `TALLY_PORT=abc` in a shared environment is `tally serve`'s error,
 * not `tally query`'s.
 */
function databaseEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return {
    [ENV_NAMES.databaseUrl]: env[ENV_NAMES.databaseUrl],
    [ENV_NAMES.migrateOnStart]: env[ENV_NAMES.migrateOnStart],
  }
}

/**
 * Opens the database named by `--db` / TALLY_DATABASE_URL (through `loadConfig`, so the URL rules and the
 * default are those of `tally serve`), runs `work`, and closes the store whatever happens.
 */
export async function withDatabase<T>(
  values: { db?: string; project?: string },
  io: CliIo,
  work: (ctx: CommandContext) => Promise<T>,
  options: OpenOptions = {},
): Promise<T> {
  const config = loadConfig(databaseEnv(io.env), { db: values.db })
  const projectId = resolveProjectId(values)
  if (!options.create) assertDatabaseExists(config.databaseUrl)
  const store = await createStore(config.databaseUrl)
  try {
    if (options.migrate ?? true) {
      await prepareSchema(store, config.databaseUrl, {
        // An in-memory database is new by definition: there is nothing a mistyped --db could fill.
        create: (options.create ?? false) || config.databaseUrl === 'sqlite::memory:',
        migrate: config.migrateOnStart,
      })
    }
    if (options.project ?? true) await ensureProject(store, projectId)
    return await work({ store, projectId, databaseUrl: config.databaseUrl })
  } finally {
    await store.close()
  }
}

/**
 * Throws AppError('store_unavailable') when `url` names a SQLite file that does not exist, without
 * creating anything. PostgreSQL never creates a database on connect, so it needs no check.
 */
export function assertDatabaseExists(url: string): void {
  const dialect = createDialect(url)
  if (!(dialect instanceof SqliteStoreDialect)) return
  const file = dialect.filename
  if (file === ':memory:' || file === '' || existsSync(file)) return
  throw new AppError(
    'store_unavailable',
    `database not found: ${resolve(file)} — run "tally migrate" or "tally serve" first, or check --db`,
  )
}

/**
 * Brings the schema up to date before a command uses it, or says why it cannot. A database without any
 * Tally migration is refused unless the command adds data (`create`): a read command pointed at the wrong
 * PostgreSQL database must not fill it with Tally's tables (SQLite files are checked before opening).
 * With TALLY_MIGRATE_ON_START=false, pending migrations are an error naming them, not a "no such table".
 */
export async function prepareSchema(
  store: KyselyEventStore,
  databaseUrl: string,
  options: { create: boolean; migrate: boolean },
): Promise<void> {
  const { applied, pending } = await store.migrationStatus()
  if (pending.length === 0) return
  if (applied === 0 && !options.create) {
    throw new AppError(
      'not_found',
      `${maskDatabasePassword(databaseUrl)} holds no Tally database — run "tally migrate" (or "tally serve") first, or check --db`,
    )
  }
  if (!options.migrate) throw pendingMigrationsError(pending)
  await store.migrate()
}

/**
 * The default project is created on first use, exactly as `tally serve` creates it (without keys: serve
 * makes and prints those). Any other project must exist (`tally projects create`).
 */
async function ensureProject(store: KyselyEventStore, projectId: string): Promise<void> {
  if (await store.getProject(projectId)) return
  if (projectId !== DEFAULT_PROJECT_ID) {
    throw new AppError(
      'not_found',
      `project ${JSON.stringify(projectId)} does not exist — create it with "tally projects create ${shellWord(projectId)}"`,
    )
  }
  await store.createProject({
    id: DEFAULT_PROJECT_ID,
    name: 'Default',
    createdAt: new Date().toISOString(),
    settings: { ...DEFAULT_PROJECT_SETTINGS },
  })
}

/** The pipeline parts `createApp` composes (validator, formatter, per-project plan cache) over `store`. */
export function createPipelineDeps(store: KyselyEventStore): ReplayDeps {
  return {
    store,
    validator: new EventValidator(),
    formatter: createEventFormatter(),
    projects: new ProjectRuntimeCache(store),
  }
}

/**
 * Records an admin action done from the CLI in the project's audit log (src/audit), as the HTTP routes do
 * for the same actions with the key that acted: the actor is `cli` with the OS user.
 */
export async function recordCliAudit(
  store: KyselyEventStore,
  io: CliIo,
  entry: { projectId: string; action: AuditAction; target: string | null; details?: Record<string, unknown> },
): Promise<void> {
  await new AuditLog(store.db).record({ ...entry, actor: cliActor(io.env) })
}

/** Writes a JSON document (2-space indented) and a newline. */
export async function printJson(io: CliIo, value: unknown): Promise<void> {
  await writeOut(io.stdout, `${JSON.stringify(value, null, 2)}\n`)
}

/** Rejects positionals a command does not take. */
export function expectPositionals(positionals: string[], min: number, max: number, what: string): void {
  if (positionals.length < min || positionals.length > max) {
    throw usageError(
      positionals.length < min
        ? `missing ${what}`
        : `unexpected argument ${JSON.stringify(positionals[max])}`,
    )
  }
}
