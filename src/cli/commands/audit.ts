import { AUDIT_ACTIONS, type AuditAction, AuditLog } from '../../audit/audit-log.js'
import type { CliCommand, CliIo } from '../cli-io.js'
import {
  DATABASE_HELP,
  DATABASE_OPTIONS,
  expectPositionals,
  parseCommandArgs,
  printJson,
  runCommand,
  usageError,
  withDatabase,
} from '../command-context.js'

export const AUDIT_HELP = `Usage: tally audit [--action ACTION] [--from ISO] [--to ISO] [--limit N] [--cursor C]
                   [--db URL] [--project ID]

Prints the project's audit log, newest first, as JSON ({"entries": [...], "nextCursor"}): every admin
action with who did it (the API key id, or "cli" and the OS user), what and when — the record to show for
key changes, schema and settings changes, deletions and GDPR erasures, replays and retention purges.

Options:
  --action ACTION  only this action: ${AUDIT_ACTIONS.join(', ')}
  --from ISO       at or after this time
  --to ISO         before this time
  --limit N        entries per page, 1–1000 (default 100)
  --cursor C       the nextCursor of the previous page
${DATABASE_HELP}

Exit status: 0 ok, 1 the database failed, 2 usage error.`

/** `tally audit`: see AUDIT_HELP. */
export async function auditCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('audit', io, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      ...DATABASE_OPTIONS,
      action: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    })
    if (values.help) {
      io.stdout.write(`${AUDIT_HELP}\n`)
      return 0
    }
    expectPositionals(positionals, 0, 0, '')
    const action = values.action as AuditAction | undefined
    if (action !== undefined && !AUDIT_ACTIONS.includes(action)) {
      throw usageError(`--action must be one of ${AUDIT_ACTIONS.join(', ')}; got ${JSON.stringify(action)}`)
    }
    let limit: number | undefined
    if (values.limit !== undefined) {
      limit = Number(values.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw usageError(`--limit must be a whole number from 1 to 1000; got ${JSON.stringify(values.limit)}`)
      }
    }
    for (const name of ['from', 'to'] as const) {
      const v = values[name]
      if (v !== undefined && Number.isNaN(Date.parse(v))) {
        throw usageError(`--${name} must be an ISO-8601 date-time; got ${JSON.stringify(v)}`)
      }
    }
    return withDatabase(values, io, async ({ store, projectId }) => {
      const page = await new AuditLog(store.db).list(projectId, {
        action,
        from: values.from,
        to: values.to,
        limit,
        cursor: values.cursor,
      })
      await printJson(io, page)
      return 0
    })
  })
}

export const auditCli: CliCommand = {
  summary: 'Show the audit log of admin actions (who, what, when)',
  run: (argv, io) => auditCommand(argv, io),
}
