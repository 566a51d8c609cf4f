import type { WriteStream } from 'node:fs'
import { addAbortSignal, type Readable } from 'node:stream'
import { sql } from 'kysely'
import { AppError } from '../../errors/app-error.js'
import { fromSegmentMessage } from '../../http/routes/segment-mapping.js'
import { EventService } from '../../ingest/event-service.js'
import type { AnalyticsEvent } from '../../schema/analytics-event.js'
import type { BatchResult } from '../../schema/batch.js'
import type { ValidationIssue } from '../../schema/validation-issue.js'
import type { InsertOutcome } from '../../store/event-store.js'
import type { KyselyEventStore } from '../../store/kysely-event-store.js'
import type { CliCommand, CliIo } from '../cli-io.js'
import { writeOut } from '../cli-io.js'
import {
  createPipelineDeps,
  DATABASE_HELP,
  DATABASE_OPTIONS,
  expectPositionals,
  parseCommandArgs,
  runCommand,
  shellWord,
  usageError,
  withDatabase,
} from '../command-context.js'
import { importedEvent, keepFailedOnce } from '../import-event.js'
import { closeStream, counted, openErrorsFile, openInput } from '../import-files.js'
import { progressLine, summaryLine, type Totals } from '../import-progress.js'
import { type InputItem, readJsonItems } from '../json-input.js'
import {
  looksStored,
  STORED_EVENT_FIELDS,
  StoredEventChecker,
  storeRestoredEvents,
} from '../restore-event.js'

export const IMPORT_HELP = `Usage: tally import FILE|- [--batch N] [--errors FILE] [--fresh-ids] [--segment] [--restore]
                    [--db URL] [--project ID]

Ingests events from FILE (or stdin for "-"): NDJSON, one event per line, or a JSON array. Every event
goes through the same pipeline as POST /api/v1/events — validation, the project's tracking plan,
enrichment, group commit — so rejected events land in the failed-event store (see "tally failed").

Restores an export: a line with the fields only the server sets (${STORED_EVENT_FIELDS.join(', ')}) is a
stored event, as "tally export" and GET /api/v1/events/export write them. It is checked against the
stored-event schema (AnalyticsEvent) and stored as it is — same id, messageId, times, enrichment, status —
in the project on its line, or in --project when given; that project must exist ("tally projects create").
A bad one is reported like any rejected event, but not kept as a failed event.
So a backup comes back, or SQLite moves to PostgreSQL, with:  tally export | tally import - --db URL

Idempotent: an event whose messageId is already stored is counted as a duplicate, not stored again.
An event without a messageId gets one derived from its text ("import-<sha256>"), so importing the same
file twice — or again after an interruption — stores each event once. A rejected event is kept in the
failed-event store once as well (it is still reported as rejected: "2 rejected (2 kept already)").

Options:
  --batch N        events per ingest call, 1–10000 (default 500)
  --errors FILE    write one NDJSON line per rejected or unreadable event: {"line","index"?,"errors"}
  --fresh-ids      do not derive ids: events without a messageId get a new one, and rejected events
                   are kept again, on each run
  --segment        the input is Segment messages (e.g. a Segment export: "event" for track names,
                   "_metadata", "writeKey" …), mapped exactly as the /v1 Segment routes map them;
                   no line is read as a stored event
  --restore        read every line as a stored event (an export), whatever fields it has, so a line
                   that lacks one is reported against the stored-event schema
  --quiet          no progress line (the final summary is always written)
${DATABASE_HELP}

Progress (with rate and ETA) is shown on stderr when it is a terminal; a summary is always written.
Exit status: 0 every event stored or duplicate (bot drops included), 1 at least one event rejected or
unreadable (or the database failed; a restored event's project missing, or its id held by another event),
2 usage error (bad flag, unreadable FILE).`

/** How many ingest calls may be in flight: the next batch is validated while the previous one commits. */
const IN_FLIGHT = 4
const PROGRESS_EVERY_MS = 250

interface PendingItem {
  line: number
  index?: number
}

interface Unreadable {
  item: PendingItem
  errors: readonly ValidationIssue[]
}

const EMPTY_RESULT: BatchResult = { accepted: 0, duplicates: 0, rejected: 0, dropped: 0, results: [] }

function tooLarge(byteSize: number, maxBytes: number): ValidationIssue {
  return {
    path: '',
    code: 'too_large',
    message: `the event is ${byteSize} bytes; the limit is ${maxBytes}`,
    expected: `<= ${maxBytes} bytes`,
  }
}

function itemProblem(item: InputItem, maxBytes: number): ValidationIssue | null {
  if (item.text === null && item.problem !== undefined) {
    return { path: '', code: 'invalid_json', message: item.problem }
  }
  if (item.text === null) return tooLarge(item.byteSize, maxBytes)
  if (item.problem !== undefined) return { path: '', code: 'invalid_json', message: item.problem }
  return null
}

/** `tally import`: see IMPORT_HELP. */
export async function importCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('import', io, async () => {
    const { values, positionals } = parseCommandArgs(argv, {
      ...DATABASE_OPTIONS,
      batch: { type: 'string' },
      errors: { type: 'string' },
      'fresh-ids': { type: 'boolean' },
      segment: { type: 'boolean' },
      restore: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
    })
    if (values.help) {
      io.stdout.write(`${IMPORT_HELP}\n`)
      return 0
    }
    expectPositionals(positionals, 1, 1, 'FILE (or "-" for stdin)')
    const batchSize = values.batch === undefined ? 500 : Number(values.batch)
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
      throw usageError(`--batch must be an integer from 1 to 10000 (got ${JSON.stringify(values.batch)})`)
    }
    if (values.restore && values.segment) throw usageError('--restore and --segment exclude each other')
    if (values.restore && values['fresh-ids']) {
      throw usageError('--fresh-ids does not apply to --restore: restored events keep their ids')
    }
    const restore: RestoreMode = values.restore ? 'always' : values.segment ? 'never' : 'detect'
    const file = positionals[0]
    const input = await openInput(file, io)
    // Opened once the database and project are known good: a run refused before reading kept the file.
    let errorsOut: WriteStream | undefined
    try {
      return await withDatabase(
        values,
        io,
        async ({ store, projectId }) => {
          const deps = createPipelineDeps(store)
          await deps.projects.get(projectId) // fail before reading if the plan cannot load
          if (values.errors !== undefined) errorsOut = await openErrorsFile(values.errors, input)
          const deriveIds = !values['fresh-ids']
          const failed = { keptAlready: 0 }
          const service = new EventService({
            ...deps,
            maxQueuedEvents: IN_FLIGHT * batchSize * 2,
            // With derived ids a rejected event is kept under an id of its own, once (--fresh-ids: each run).
            sink: deriveIds ? keepFailedOnce(store, failed) : undefined,
          })
          // Restored events go straight to the store, one batch at a time (see storeRestoredEvents); once
          // one batch fails (e.g. an id conflict), the later ones fail with it instead of being written.
          let restoring: Promise<unknown> = Promise.resolve()
          const known = new Set<string>([projectId])
          try {
            return await runImport({
              io,
              service,
              projectId,
              input,
              batchSize,
              errorsOut,
              deriveIds,
              failed,
              segment: values.segment === true,
              restore,
              projectOverride: values.project,
              checker: new StoredEventChecker(deps.validator.limits),
              storeRestored: (events, lines) => {
                const next = restoring.then(() => storeRestoredEvents(store, events, lines))
                restoring = next
                return next
              },
              projectExists: async (id) => {
                if (known.has(id)) return true
                const found = (await store.getProject(id)) !== undefined
                if (found) known.add(id)
                return found
              },
              showProgress: !values.quiet && (io.stderr as { isTTY?: boolean }).isTTY === true,
              maxEventBytes: deps.validator.limits.maxEventBytes,
            })
          } finally {
            await service.close()
            await analyzeAfterBulkLoad(store)
          }
        },
        { create: true },
      )
    } finally {
      input.stream.destroy()
      if (errorsOut) await closeStream(errorsOut)
    }
  })
}

/**
 * PostgreSQL plans keyset pages from table statistics; right after a bulk load they are empty until
 * autovacuum's analyze runs (never, where it is off), and an export of 295k imported events took 44 s
 * instead of 7 (a user's trial). So the import refreshes them itself. SQLite plans without them.
 */
async function analyzeAfterBulkLoad(store: KyselyEventStore): Promise<void> {
  if (store.storeDialect.name !== 'postgres') return
  await sql`analyze events`.execute(store.db).catch(() => {}) // an optimisation: never fail the import
}

/** Which lines are read as stored events: those that look stored, every line (--restore), none (--segment). */
type RestoreMode = 'detect' | 'always' | 'never'

interface ImportRun {
  io: CliIo
  service: EventService
  projectId: string
  input: { stream: Readable; size: number | null }
  batchSize: number
  errorsOut: WriteStream | undefined
  deriveIds: boolean
  /** Rejected events the failed-event store held already (not kept again). */
  failed: { keptAlready: number }
  segment: boolean
  restore: RestoreMode
  /** `--project` as given: restored events go there instead of the project on their line. */
  projectOverride: string | undefined
  checker: StoredEventChecker
  storeRestored: (events: readonly AnalyticsEvent[], lines: readonly number[]) => Promise<InsertOutcome[]>
  projectExists: (projectId: string) => Promise<boolean>
  showProgress: boolean
  maxEventBytes: number
}

async function runImport(run: ImportRun): Promise<number> {
  const { io, service, projectId, batchSize, errorsOut } = run
  const totals: Totals = {
    read: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    dropped: 0,
    unreadable: 0,
    restored: 0,
  }
  const counter = { bytes: 0 }
  const started = Date.now()
  let lastProgress = 0
  // Ctrl-C / SIGTERM: stop reading, store what was read, write the summary (the process died without one).
  // A second signal ends the process at once. Re-running the same command resumes: messageIds dedupe.
  let interrupted: NodeJS.Signals | undefined
  const stopReading = new AbortController()
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted !== undefined) process.exit(signal === 'SIGINT' ? 130 : 143)
    interrupted = signal
    stopReading.abort() // also ends a read that waits for input (stdin)
  }
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']
  for (const signal of signals) process.on(signal, onSignal)
  // Each batch carries its unreadable items (and the stored events refused before the write) too, so the
  // errors file comes out in input order.
  const inFlight: {
    items: PendingItem[]
    unreadable: Unreadable[]
    result: Promise<BatchResult>
    restored: Promise<InsertOutcome[]>
  }[] = []
  let events: unknown[] = []
  // With --segment, what the Segment leniency repaired per event (stored as violations, as over HTTP).
  let notes: ValidationIssue[][] = []
  let items: PendingItem[] = []
  let unreadableItems: Unreadable[] = []
  let restoredEvents: AnalyticsEvent[] = []
  let restoredLines: number[] = []
  // The largest line read: room for a stored event whenever a line may be one.
  const maxItemBytes = run.restore === 'never' ? run.maxEventBytes : run.checker.maxBytes

  const writeError = async (item: PendingItem, errors: readonly ValidationIssue[]) => {
    if (!errorsOut) return
    const line =
      item.index === undefined ? { line: item.line, errors } : { line: item.line, index: item.index, errors }
    await writeOut(errorsOut, `${JSON.stringify(line)}\n`)
  }

  const settleOldest = async () => {
    const batch = inFlight.shift()
    if (!batch) return
    const result = await batch.result
    for (const outcome of await batch.restored) {
      if (outcome.status === 'accepted') totals.accepted++
      else if (outcome.status === 'dropped') totals.dropped++
      else totals.duplicates++
    }
    totals.accepted += result.accepted
    totals.duplicates += result.duplicates
    totals.rejected += result.rejected
    totals.dropped += result.dropped
    const failures: Unreadable[] = [...batch.unreadable]
    for (const r of result.results) {
      if (r.status === 'rejected') failures.push({ item: batch.items[r.index], errors: r.errors ?? [] })
    }
    failures.sort((a, b) => a.item.line - b.item.line || (a.item.index ?? 0) - (b.item.index ?? 0))
    for (const f of failures) await writeError(f.item, f.errors)
    if (run.showProgress && Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = Date.now()
      const line = progressLine(totals, counter.bytes, run.input.size, (lastProgress - started) / 1000)
      io.stderr.write(`\r\x1b[K${line}`)
    }
  }

  const flush = async () => {
    if (events.length === 0 && unreadableItems.length === 0 && restoredEvents.length === 0) return
    const result =
      events.length > 0
        ? service.ingest(events, run.segment ? { projectId, notes } : { projectId })
        : Promise.resolve(EMPTY_RESULT)
    const restored =
      restoredEvents.length > 0 ? run.storeRestored(restoredEvents, restoredLines) : Promise.resolve([])
    const batch = { items, unreadable: unreadableItems, result, restored }
    // Rejections are handled when the batch is settled, in order; until then keep them from going unhandled.
    batch.result.catch(() => {})
    batch.restored.catch(() => {})
    inFlight.push(batch)
    events = []
    notes = []
    items = []
    unreadableItems = []
    restoredEvents = []
    restoredLines = []
    if (inFlight.length >= IN_FLIGHT) await settleOldest()
  }

  /** Reads every item of the input into batches (stopped early by an interrupting signal). */
  async function readAll(source: AsyncIterable<Buffer>): Promise<void> {
    for await (const item of readJsonItems(source, maxItemBytes)) {
      if (events.length + unreadableItems.length + restoredEvents.length >= batchSize) await flush()
      totals.read++
      const pending: PendingItem =
        item.index === undefined ? { line: item.line } : { line: item.line, index: item.index }
      // Over every limit: named by the limit of what the line most likely is.
      const problem = itemProblem(item, run.restore === 'always' ? maxItemBytes : run.maxEventBytes)
      let event: unknown
      if (problem === null) {
        try {
          event = JSON.parse(item.text as string)
        } catch (err) {
          const oversized = run.restore === 'detect' && item.byteSize > run.maxEventBytes
          unreadable(
            pending,
            oversized
              ? tooLarge(item.byteSize, run.maxEventBytes)
              : { path: '', code: 'invalid_json', message: `not valid JSON: ${(err as Error).message}` },
          )
          continue
        }
      } else {
        unreadable(pending, problem)
        continue
      }
      if (run.restore === 'always' || (run.restore === 'detect' && looksStored(event))) {
        await restoreLine(pending, event, item.byteSize)
        continue
      }
      if (item.byteSize > run.maxEventBytes) {
        unreadable(pending, tooLarge(item.byteSize, run.maxEventBytes))
        continue
      }
      if (run.segment) {
        const repaired: ValidationIssue[] = []
        event = fromSegmentMessage(event, undefined, {}, repaired)
        notes.push(repaired)
      }
      events.push(importedEvent(event, item.text as string, run.deriveIds))
      items.push(pending)
    }
  }

  try {
    const source = counted(
      addAbortSignal(stopReading.signal, run.input.stream) as AsyncIterable<Buffer>,
      counter,
    )
    try {
      await readAll(source)
    } catch (err) {
      if (interrupted === undefined) throw err
    }
    await flush()
    while (inFlight.length > 0) await settleOldest()
  } catch (err) {
    // Whatever happened, let the batches already handed over finish before reporting.
    await Promise.allSettled(inFlight.flatMap((b) => [b.result, b.restored]))
    if (run.showProgress) io.stderr.write('\r\x1b[K')
    io.stderr.write(summaryLine(totals, run.failed.keptAlready, (Date.now() - started) / 1000))
    const e = err as NodeJS.ErrnoException
    if (!(e instanceof AppError) && e?.code && /^E[A-Z]+$/.test(e.code)) {
      throw new Error(`stopped: cannot read the input: ${e.code}`)
    }
    throw err
  } finally {
    for (const signal of signals) process.off(signal, onSignal)
  }
  if (run.showProgress) io.stderr.write('\r\x1b[K')
  io.stderr.write(summaryLine(totals, run.failed.keptAlready, (Date.now() - started) / 1000))
  if (interrupted !== undefined) {
    io.stderr.write(
      `tally import: stopped by ${interrupted} after ${totals.read} events, all of them written; run the same command again to go on (events already stored count as duplicates)\n`,
    )
    return interrupted === 'SIGINT' ? 130 : 143
  }
  return totals.rejected + totals.unreadable > 0 ? 1 : 0

  function unreadable(item: PendingItem, issue: ValidationIssue) {
    totals.unreadable++
    unreadableItems.push({ item, errors: [issue] })
  }

  /** A stored event: checked, put in its project (or --project), queued for the store as it is. */
  async function restoreLine(item: PendingItem, value: unknown, byteSize: number) {
    totals.restored++
    const checked = run.checker.check(value, byteSize)
    if (!checked.ok) {
      // Rejected like an event the pipeline refuses, but not kept: a replay could not make it a stored event.
      totals.rejected++
      unreadableItems.push({ item, errors: checked.errors })
      return
    }
    let event = checked.event
    if (run.projectOverride !== undefined) event = { ...event, projectId: run.projectOverride }
    else if (!(await run.projectExists(event.projectId))) {
      throw new AppError(
        'not_found',
        `project ${JSON.stringify(event.projectId)} does not exist (line ${item.line}) — create it with "tally projects create ${shellWord(event.projectId)}", or restore into another project with --project`,
      )
    }
    restoredEvents.push(event)
    restoredLines.push(item.line)
  }
}

export const importCli: CliCommand = {
  summary: 'Ingest events from an NDJSON or JSON-array file (idempotent; no server needed)',
  run: importCommand,
}
