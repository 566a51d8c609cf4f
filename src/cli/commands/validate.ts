import { open } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { createEventFormatter } from '../../enrich/event-formatter.js'
import type { FormatResult } from '../../enrich/types.js'
import { isAppError } from '../../errors/app-error.js'
import type { IssueCode } from '../../errors/issue-codes.js'
import type { ValidationIssue } from '../../schema/validation-issue.js'
import {
  DEFAULT_PROJECT_SETTINGS,
  ENFORCEMENT_MODES,
  type EnforcementMode,
} from '../../store/project-types.js'
import { loadSchemaDir } from '../../tracking-plan/load-schema-dir.js'
import type { TrackingPlan } from '../../tracking-plan/tracking-plan.js'
import { EventValidator, type ValidationResult } from '../../validate/event-validator.js'
import { type CliCommand, type CliIo, writeOut } from '../cli-io.js'
import {
  commandLineError,
  parseCommandArgs,
  resolveProjectId,
  runCommand,
  usageError,
} from '../command-context.js'
import { importedEvent } from '../import-event.js'
import { readJsonItems } from '../json-input.js'

export const VALIDATE_HELP = `Usage: tally validate [FILE|-] [--schemas DIR] [--mode allow|warn|block] [--enrich [--project ID] [--fresh-ids]]

Validates events against Tally's event model (and a tracking plan) without storing anything, with the
verdicts the server gives: the enrichment stage's checks count too (a timestamp outside the accepted window
is an error in block mode and a warning otherwise; an unparseable page URL a warning).
Reads NDJSON (one event per line) or a JSON array from FILE, or from stdin when FILE is "-" or absent.
Streams: memory stays flat however large the input.

Writes one JSON line per event to stdout:
  {"line":N,"ok":true}                       (plus "warnings" and "schema" when a plan applies)
  {"line":N,"ok":false,"errors":[{"path","code","message","expected"}]}
("index" is added for JSON-array input.) A summary goes to stderr.
With --enrich, a valid event's line also carries "event": the AnalyticsEvent "tally import" of the same
input would store (corrected timestamps, parsed user agent, anonymised IP, redaction, …; see
docs/enrichment.md) — same project ("default" unless --project), same messageId ("import-<sha256>" for an
event without one, unless --fresh-ids) — with default project settings and the plan of --schemas (no
database is read). What still differs by nature, run to run: "id" (assigned when stored), "receivedAt"
(this machine's clock now), "timestamp" when it is derived from the receive time (no timestamp, or a
sentAt to correct against), and a derived "sessionId" (a salted hash; the salt is new in every process).

Options:
  --schemas DIR   tracking plan: DIR/<type>/<name>/<version>.json, e.g.
                  DIR/track/Order Completed/1-0-0.json (name URL-encoded; "*" = every event of the type)
  --mode MODE     allow (default) | warn | block — how unplanned or non-conforming events are treated
  --enrich        also print each valid event as "tally import" would store it
  --project ID    with --enrich: the project import would store into (default "default")
  --fresh-ids     with --enrich: as "tally import --fresh-ids" (no derived messageIds)
  -h, --help      show this help

Exit status: 0 all events valid, 1 at least one invalid, 2 usage error (bad flag, unreadable file or schemas).`

interface Tally {
  total: number
  valid: number
  invalid: number
  withWarnings: number
  codes: Map<IssueCode, number>
}

function resultLine(
  line: number,
  index: number | undefined,
  result: ValidationResult,
  enriched?: FormatResult,
): string {
  const out: Record<string, unknown> = { line }
  if (index !== undefined) out.index = index
  out.ok = result.ok
  if (!result.ok) out.errors = result.errors
  else {
    if (result.warnings.length > 0) out.warnings = result.warnings
    if (result.schema !== null) out.schema = result.schema
    if (enriched?.kind === 'ok') out.event = enriched.event
    else if (enriched?.kind === 'drop') out.dropped = enriched.reason
  }
  return `${JSON.stringify(out)}\n`
}

function count(tally: Tally, issues: readonly ValidationIssue[]): void {
  for (const issue of issues) tally.codes.set(issue.code, (tally.codes.get(issue.code) ?? 0) + 1)
}

function summary(tally: Tally, seconds: number): string {
  const parts = [
    `tally validate: ${tally.total} events — ${tally.valid} valid, ${tally.invalid} invalid`,
    tally.withWarnings > 0 ? `, ${tally.withWarnings} with warnings` : '',
    ` (${seconds.toFixed(2)} s)`,
  ]
  const top = [...tally.codes].sort((a, b) => b[1] - a[1]).slice(0, 5)
  const codes =
    top.length > 0 ? `\n  most frequent: ${top.map(([code, n]) => `${code} ×${n}`).join(', ')}` : ''
  return `${parts.join('')}${codes}\n`
}

async function openInput(file: string | undefined, io: CliIo): Promise<Readable> {
  if (file === undefined || file === '-') return io.stdin
  const handle = await open(file, 'r')
  const stat = await handle.stat()
  if (stat.isDirectory()) {
    await handle.close()
    throw Object.assign(new Error(`${file} is a directory`), { code: 'EISDIR' })
  }
  return handle.createReadStream({ highWaterMark: 256 * 1024 })
}

/** `tally validate`: see VALIDATE_HELP. */
export async function validateCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('validate', io, () => validateEvents(argv, io))
}

async function validateEvents(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    schemas: { type: 'string' },
    mode: { type: 'string' },
    enrich: { type: 'boolean' },
    project: { type: 'string' },
    'fresh-ids': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) {
    io.stdout.write(`${VALIDATE_HELP}\n`)
    return 0
  }
  if (positionals.length > 1) throw usageError(`expected at most one FILE, got ${positionals.length}`)
  const projectId = resolveProjectId(values)
  const deriveIds = !values['fresh-ids']
  const mode = (values.mode ?? 'allow') as EnforcementMode
  if (!ENFORCEMENT_MODES.includes(mode)) {
    throw usageError(`--mode must be one of ${ENFORCEMENT_MODES.join(', ')}, not "${values.mode}"`)
  }

  let plan: TrackingPlan | undefined
  if (values.schemas !== undefined) {
    try {
      plan = await loadSchemaDir(values.schemas)
    } catch (err) {
      if (isAppError(err)) throw commandLineError(err, '--schemas: ')
      throw usageError(`--schemas: ${String(err)}`)
    }
  }

  const file = positionals[0]
  let input: Readable
  try {
    input = await openInput(file, io)
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw usageError(`cannot read ${file}: ${e.code ?? e.message}`)
  }

  const validator = new EventValidator()
  const options = { trackingPlan: plan, enforcement: mode }
  const tally: Tally = { total: 0, valid: 0, invalid: 0, withWarnings: 0, codes: new Map() }
  // Always formatted: time windows, URLs and bots are the enrichment stage's verdicts, and the server's.
  // Without it `--mode block` passed events the server rejects (a 2019 timestamp; a trial).
  const formatter = createEventFormatter()
  const settings = { ...DEFAULT_PROJECT_SETTINGS, enforcement: mode }
  const started = process.hrtime.bigint()
  let pending: string[] = []
  try {
    for await (const item of readJsonItems(input as AsyncIterable<Buffer>, validator.limits.maxEventBytes)) {
      let result: ValidationResult
      if (item.problem !== undefined && item.text === null) {
        result = { ok: false, errors: [{ path: '', code: 'invalid_json', message: item.problem }] }
      } else if (item.text === null) {
        const limit = validator.limits.maxEventBytes
        result = {
          ok: false,
          errors: [
            {
              path: '',
              code: 'too_large',
              message: `the event is ${item.byteSize} bytes; the limit is ${limit}`,
              expected: `<= ${limit} bytes`,
            },
          ],
        }
      } else {
        result = validator.validateJson(item.text, { ...options, byteSize: item.byteSize })
        if (item.problem !== undefined && result.ok) {
          result = { ok: false, errors: [{ path: '', code: 'invalid_json', message: item.problem }] }
        }
      }
      let enriched: FormatResult | undefined
      if (values.enrich && result.ok && item.text !== null) {
        // What `tally import` hands the pipeline — the parsed event with the messageId import gives it —
        // validated in that form as the pipeline does, then formatted for the project import would use.
        result = validator.validate(importedEvent(JSON.parse(item.text), item.text, deriveIds), options)
      }
      if (result.ok) {
        const ctx = {
          projectId,
          receivedAt: new Date(),
          settings,
          schema: result.schema,
          warnings: result.warnings,
        }
        enriched = formatter.format(result.event, ctx)
        if (enriched.kind === 'reject') result = { ok: false, errors: enriched.errors }
        // The stored event's violations: the validator's warnings and what enrichment found (time, URLs).
        else if (enriched.kind === 'ok') result = { ...result, warnings: enriched.event.violations }
      }
      tally.total++
      if (result.ok) {
        tally.valid++
        if (result.warnings.length > 0) tally.withWarnings++
        count(tally, result.warnings)
      } else {
        tally.invalid++
        count(tally, result.errors)
      }
      pending.push(resultLine(item.line, item.index, result, values.enrich ? enriched : undefined))
      if (pending.length >= 256) {
        const text = pending.join('')
        pending = []
        await writeOut(io.stdout, text)
      }
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (pending.length > 0) io.stdout.write(pending.join(''))
    throw usageError(`cannot read ${file ?? 'stdin'}: ${e.code ?? e.message}`)
  }
  if (pending.length > 0) await writeOut(io.stdout, pending.join(''))
  io.stderr.write(summary(tally, Number(process.hrtime.bigint() - started) / 1e9))
  return tally.invalid > 0 ? 1 : 0
}

export const validateCli: CliCommand = {
  summary: 'Check events (NDJSON or a JSON array) against the event model and a tracking plan',
  run: validateCommand,
}
