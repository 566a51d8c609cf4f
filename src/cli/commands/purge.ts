import type { KyselyEventStore } from '../../store/kysely-event-store.js'
import type { CliCommand, CliIo } from '../cli-io.js'
import {
  DATABASE_HELP,
  DATABASE_OPTIONS,
  expectPositionals,
  parseCommandArgs,
  printJson,
  recordCliAudit,
  runCommand,
  usageError,
  withDatabase,
} from '../command-context.js'

export const PURGE_HELP = `Usage: tally purge --older-than DURATION [--all-projects] [--db URL] [--project ID]

Retention: deletes the events (and failed events) RECEIVED more than DURATION ago, straight in the
database (no server needed), in short transactions so a server on the same database keeps answering
(an error part-way leaves some deleted; run it again). Prints {"cutoff","project","events","failedEvents"} (project null with --all-projects).

  DURATION   a positive whole number and a unit: s, m (minutes), h, d, w — e.g. 90d, 12h, 2w

Options:
  --older-than DURATION   required
  --all-projects          purge every project, not only --project
${DATABASE_HELP}

Deletes by when events were RECEIVED (an import of old history is recent by this measure). In the same
transaction the hourly rollups of every hour that lost an event are rebuilt, so "tally stats" stops
counting purged events. On SQLite a large purge holds the write lock while it runs: ingest waits, and
past the busy timeout (5 s) answers 503 with Retry-After — purge in smaller steps (e.g. 90d, then 60d).
Exit status: 0 ok, 1 the database failed, 2 usage error (missing or nonsensical DURATION).`

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }
/** More than this is certainly a typo (and would underflow Date). */
const MAX_DURATION_MS = 100 * 365 * 86_400_000

/**
 * Parses `90d`, `12h`, `30m`, `2w`, `45s` into milliseconds; null for anything else (zero, negative,
 * fractions, missing unit, more than 100 years).
 */
export function parseDuration(text: string): number | null {
  const m = /^([1-9]\d{0,9})([smhdw])$/.exec(text.trim())
  if (m === null) return null
  const ms = Number(m[1]) * UNIT_MS[m[2]]
  return ms > MAX_DURATION_MS ? null : ms
}

/** Audit (src/audit): one entry in the purged project, or in every project for --all-projects. */
async function recordPurge(
  store: KyselyEventStore,
  io: CliIo,
  scope: string | undefined,
  details: Record<string, unknown>,
): Promise<void> {
  const projects = scope === undefined ? (await store.listProjects()).map((p) => p.id) : [scope]
  for (const projectId of projects) {
    await recordCliAudit(store, io, {
      projectId,
      action: 'events.purged',
      target: null,
      details: { ...details, allProjects: scope === undefined },
    })
  }
}

/** `tally purge`: see PURGE_HELP. */
export async function purgeCommand(
  argv: string[],
  io: CliIo,
  now: () => Date = () => new Date(),
): Promise<number> {
  return runCommand('purge', io, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      ...DATABASE_OPTIONS,
      'older-than': { type: 'string' },
      'all-projects': { type: 'boolean' },
    })
    if (values.help) {
      io.stdout.write(`${PURGE_HELP}\n`)
      return 0
    }
    expectPositionals(positionals, 0, 0, '')
    const text = values['older-than']
    if (text === undefined) throw usageError('--older-than DURATION is required (e.g. 90d)')
    const ms = parseDuration(text)
    if (ms === null && /^\s*-/.test(text)) {
      throw usageError(
        `--older-than must be a positive duration; ${JSON.stringify(text)} is negative (e.g. 90d purges what was received more than 90 days ago)`,
      )
    }
    if (ms === null) {
      throw usageError(
        `--older-than must be a positive whole number and a unit s, m, h, d or w (e.g. 90d, 12h); got ${JSON.stringify(text)}`,
      )
    }
    if (values['all-projects'] && values.project !== undefined) {
      throw usageError('--all-projects and --project exclude each other')
    }
    const cutoff = new Date(now().getTime() - ms)
    return withDatabase(
      values,
      io,
      async ({ store, projectId }) => {
        const scope = values['all-projects'] ? undefined : projectId
        const deleted = await store.purgeOlderThan(cutoff, scope)
        await recordPurge(store, io, scope, { cutoff: cutoff.toISOString(), ...deleted })
        await printJson(io, { cutoff: cutoff.toISOString(), project: scope ?? null, ...deleted })
        io.stderr.write(
          `tally purge: deleted ${deleted.events} events and ${deleted.failedEvents} failed events received before ${cutoff.toISOString()}\n`,
        )
        return 0
      },
      { project: !values['all-projects'] },
    )
  })
}

export const purgeCli: CliCommand = {
  summary: 'Delete events received more than a duration ago (retention)',
  run: (argv, io) => purgeCommand(argv, io),
}
