import type { CliCommand, CliIo } from '../cli-io.js'
import {
  DATABASE_OPTIONS,
  expectPositionals,
  parseCommandArgs,
  runCommand,
  withDatabase,
} from '../command-context.js'

export const MIGRATE_HELP = `Usage: tally migrate [--db URL]

Applies the pending database migrations (idempotent) and prints the name of each one applied, or that
the database is up to date. "tally serve" and the other commands also migrate on start unless
TALLY_MIGRATE_ON_START=false; run this to upgrade the schema on its own, e.g. before a deploy.

Options:
  --db URL     database (TALLY_DATABASE_URL); default sqlite:./data/tally.db
  -h, --help   show this help

Exit status: 0 ok, 1 a migration or the connection failed, 2 usage error.`

/** `tally migrate`: see MIGRATE_HELP. */
export async function migrateCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('migrate', io, async () => {
    const { db, help } = DATABASE_OPTIONS
    const { values, positionals } = parseCommandArgs(argv, { db, help })
    if (values.help) {
      io.stdout.write(`${MIGRATE_HELP}\n`)
      return 0
    }
    expectPositionals(positionals, 0, 0, '')
    return withDatabase(
      values,
      io,
      async ({ store }) => {
        const applied = await store.migrate()
        if (applied.length === 0) io.stdout.write('tally migrate: the database is up to date\n')
        for (const name of applied) io.stdout.write(`applied ${name}\n`)
        if (applied.length > 0) io.stdout.write(`tally migrate: ${applied.length} migration(s) applied\n`)
        return 0
      },
      { migrate: false, project: false, create: true },
    )
  })
}

export const migrateCli: CliCommand = {
  summary: 'Apply pending database migrations',
  run: migrateCommand,
}
