import { ISSUE_CODES, type IssueCode } from '../../errors/issue-codes.js'
import { replayFailedEvents } from '../../ingest/replay-failed-events.js'
import type { FailedEventQuery } from '../../store/event-store.js'
import type { CliCommand, CliIo } from '../cli-io.js'
import {
  createPipelineDeps,
  DATABASE_HELP,
  DATABASE_OPTIONS,
  expectPositionals,
  parseCommandArgs,
  printJson,
  recordCliAudit,
  runCommand,
  unknownActionError,
  usageError,
  withDatabase,
} from '../command-context.js'

export const FAILED_HELP = `Usage: tally failed list [--code CODE] [--from TIME] [--to TIME] [--limit N] [--cursor C]
       tally failed replay [--code CODE] [--from TIME] [--to TIME] [--max N]
       [--db URL] [--project ID]

Rejected events are kept with their payload and errors (the failed-event store). Straight in the
database (no server needed):
  list     prints {"failedEvents": [...], "nextCursor"} as JSON, newest first; --cursor continues
  replay   re-validates them against the project's CURRENT tracking plan (e.g. after "tally schema
           add" fixed it): those that pass are stored and leave the failed-event store, the rest stay
           with updated errors. Prints {"examined","replayed","duplicates","stillFailing","inProgress"}.
           Idempotent: running it twice never stores an event twice.

Options:
  --code CODE    only failed events with an issue of this code (e.g. schema_violation, required)
  --from TIME    received at or after TIME (ISO 8601 with zone, or YYYY-MM-DD)
  --to TIME      received before TIME
  --limit N      failed events per page, 1–1000 (list; default 100)
  --cursor C     next page (list)
  --max N        examine at most N failed events (replay)
${DATABASE_HELP}

Exit status: 0 ok (also when some events still fail: see the report), 1 the database failed,
2 usage error.`

function time(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value
  if (!/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}/.test(text) || !Number.isFinite(Date.parse(text))) {
    throw usageError(
      `${flag} must be an ISO 8601 date-time (e.g. 2026-11-01T00:00:00Z); got ${JSON.stringify(value)}`,
    )
  }
  return new Date(Date.parse(text)).toISOString()
}

function integer(flag: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < 1 || n > max) {
    throw usageError(`${flag} must be an integer from 1 to ${max}; got ${JSON.stringify(value)}`)
  }
  return n
}

/** `tally failed`: see FAILED_HELP. */
export async function failedCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('failed', io, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      ...DATABASE_OPTIONS,
      code: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      max: { type: 'string' },
    })
    if (values.help) {
      io.stdout.write(`${FAILED_HELP}\n`)
      return 0
    }
    const [action, ...args] = positionals
    const filter: FailedEventQuery = {}
    if (values.code !== undefined) {
      // An unknown code can match nothing: say so rather than answer an empty list.
      if (!(ISSUE_CODES as readonly string[]).includes(values.code))
        throw usageError(
          `--code must be an issue code (docs/errors.md) such as schema_violation or required; got ${JSON.stringify(values.code)}`,
        )
      filter.code = values.code as IssueCode
    }
    const from = time('--from', values.from)
    const to = time('--to', values.to)
    if (from !== undefined) filter.from = from
    if (to !== undefined) filter.to = to

    if (action === 'list') {
      expectPositionals(args, 0, 0, '')
      if (values.max !== undefined) throw usageError('--max applies to replay, not list')
      const limit = integer('--limit', values.limit, 1000)
      if (limit !== undefined) filter.limit = limit
      if (values.cursor !== undefined) filter.cursor = values.cursor
      return withDatabase(values, io, async ({ store, projectId }) => {
        await printJson(io, await store.listFailedEvents(projectId, filter))
        return 0
      })
    }
    if (action === 'replay') {
      expectPositionals(args, 0, 0, '')
      if (values.limit !== undefined || values.cursor !== undefined) {
        throw usageError('--limit and --cursor apply to list; replay takes --max')
      }
      const max = integer('--max', values.max, 1_000_000)
      return withDatabase(values, io, async ({ store, projectId }) => {
        const report = await replayFailedEvents(createPipelineDeps(store), projectId, {
          ...filter,
          ...(max === undefined ? {} : { max }),
        })
        await recordCliAudit(store, io, {
          projectId,
          action: 'failed_events.replayed',
          target: null,
          details: { filter: { ...filter, ...(max === undefined ? {} : { max }) }, ...report },
        })
        await printJson(io, report)
        io.stderr.write(
          `tally failed: examined ${report.examined} — ${report.replayed} stored, ${report.duplicates} already stored, ${report.stillFailing} still failing${report.inProgress > 0 ? `, ${report.inProgress} held by another replay running now` : ''}\n`,
        )
        return 0
      })
    }
    throw unknownActionError(action, 'list or replay')
  })
}

export const failedCli: CliCommand = {
  summary: 'Failed (rejected) events: list them, replay them after a fix',
  run: failedCommand,
}
