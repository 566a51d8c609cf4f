import type { CliCommand, CliIo } from '../cli-io.js'
import {
  DATABASE_HELP,
  DATABASE_OPTIONS,
  expectPositionals,
  parseCommandArgs,
  printJson,
  runCommand,
  withDatabase,
} from '../command-context.js'
import { buildEventQuery, FILTER_HELP, FILTER_OPTIONS } from '../filter-args.js'

export const QUERY_HELP = `Usage: tally query [filters] [--limit N] [--cursor C] [--order desc|asc] [--db URL] [--project ID]

Reads one page of events, newest first, straight from the database (no server needed) and prints
{"events": [...], "nextCursor": "…" | null} as JSON. Pass nextCursor back with --cursor (and the same
filters) for the next page.

${FILTER_HELP}

Options:
  --limit N       events per page, 1–1000 (default 100)
  --cursor C      continue after a previous page
  --order ORDER   desc (default) or asc
${DATABASE_HELP}

Exit status: 0 ok, 1 the database failed, 2 usage error (bad flag, filter or cursor).`

/** `tally query`: see QUERY_HELP. */
export async function queryCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('query', io, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      ...DATABASE_OPTIONS,
      ...FILTER_OPTIONS,
      limit: { type: 'string' },
      cursor: { type: 'string' },
      order: { type: 'string' },
    })
    if (values.help) {
      io.stdout.write(`${QUERY_HELP}\n`)
      return 0
    }
    expectPositionals(positionals, 0, 0, '')
    const query = buildEventQuery(values, values)
    return withDatabase(values, io, async ({ store, projectId }) => {
      await printJson(io, await store.queryEvents(projectId, query))
      return 0
    })
  })
}

export const queryCli: CliCommand = {
  summary: 'Read a page of events matching filters, as JSON (no server needed)',
  run: queryCommand,
}
