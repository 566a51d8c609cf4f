import { createWriteStream } from 'node:fs'
import type { Writable } from 'node:stream'
import { eventsToCsv, eventsToNdjson } from '../../http/routes/export-format.js'
import type { AnalyticsEvent } from '../../schema/analytics-event.js'
import type { CliCommand, CliIo } from '../cli-io.js'
import { writeOut } from '../cli-io.js'
import {
  DATABASE_HELP,
  DATABASE_OPTIONS,
  expectPositionals,
  parseCommandArgs,
  runCommand,
  usageError,
  withDatabase,
} from '../command-context.js'
import { buildEventQuery, FILTER_HELP, FILTER_OPTIONS } from '../filter-args.js'

export const EXPORT_HELP = `Usage: tally export [--format ndjson|csv] [--order asc|desc] [filters] [--output FILE]
                    [--db URL] [--project ID]

Streams every event matching the filters, oldest first (by timestamp), straight from the database (no
server needed): the same lines as GET /api/v1/events/export, whose default order is newest first — pass
order=asc there, or --order desc here, for the same order. Memory stays flat however many events match.
"tally import FILE" restores an NDJSON export as it is (same ids), in either order.

  ndjson (default)  one stored event (JSON) per line
  csv               RFC 4180 with a header row and a fixed column set:
                    id,type,name,timestamp,receivedAt,userId,anonymousId,sessionId,groupId,messageId,
                    status,properties,traits,context  (objects as JSON text; a cell starting with
                    = + - @ is prefixed with ' so spreadsheets never run it as a formula)

${FILTER_HELP}

Options:
  --format FORMAT  ndjson (default) or csv
  --order ORDER    asc (default: oldest first) or desc (newest first)
  --output FILE    write to FILE instead of stdout
${DATABASE_HELP}

A count goes to stderr at the end. Exit status: 0 ok, 1 the database or the output failed while exporting, 2 usage error (an --output
that cannot be opened included).`

const FORMATS = ['ndjson', 'csv'] as const

async function* counting(events: AsyncIterable<AnalyticsEvent>, counter: { n: number }) {
  for await (const event of events) {
    counter.n++
    yield event
  }
}

function openOutput(path: string): Promise<Writable> {
  const stream = createWriteStream(path, { flags: 'w' })
  return new Promise((resolve, reject) => {
    stream.once('open', () => resolve(stream))
    stream.once('error', (err: NodeJS.ErrnoException) =>
      reject(usageError(`cannot write --output ${path}: ${err.code ?? err.message}`)),
    )
  })
}

/** `tally export`: see EXPORT_HELP. */
export async function exportCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('export', io, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      ...DATABASE_OPTIONS,
      ...FILTER_OPTIONS,
      format: { type: 'string' },
      order: { type: 'string' },
      output: { type: 'string', short: 'o' },
    })
    if (values.help) {
      io.stdout.write(`${EXPORT_HELP}\n`)
      return 0
    }
    expectPositionals(positionals, 0, 0, '')
    const format = values.format ?? 'ndjson'
    if (!(FORMATS as readonly string[]).includes(format)) {
      throw usageError(`--format must be ndjson or csv (got ${JSON.stringify(format)})`)
    }
    const query = buildEventQuery(values, { order: values.order ?? 'asc' })
    return withDatabase(values, io, async ({ store, projectId }) => {
      const out = values.output === undefined ? io.stdout : await openOutput(values.output)
      const counter = { n: 0 }
      try {
        const events = counting(store.exportEvents(projectId, query), counter)
        for await (const chunk of format === 'csv' ? eventsToCsv(events) : eventsToNdjson(events)) {
          await writeOut(out, chunk)
        }
      } finally {
        if (out !== io.stdout) await new Promise<void>((resolve) => out.end(() => resolve()))
      }
      io.stderr.write(`tally export: ${counter.n} events (${format})\n`)
      return 0
    })
  })
}

export const exportCli: CliCommand = {
  summary: 'Stream matching events as NDJSON or CSV (no server needed)',
  run: exportCommand,
}
