import { spawnSync } from 'node:child_process'
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createFreshPostgresDatabase, IN_CI, isPostgresReachable } from '../../../test/helpers/dialects.js'
import { ndjson, runCli, tempDatabase } from '../../../test/helpers/run-cli.js'
import { createStore } from '../../store/create-store.js'
import { derivedMessageId } from '../import-event.js'
import { main } from '../index.js'

const good = [
  { type: 'track', name: 'Signed Up', userId: 'u1', messageId: 'm-1', properties: { plan: 'pro' } },
  { type: 'page', name: 'Home', anonymousId: 'a1', properties: { path: '/' } },
  { type: 'track', name: 'Bought', userId: 'u2', properties: { plan: 'free', amount: 12 } },
]
const FILE_WITH_BAD_LINES = ndjson(
  good[0],
  { type: 'track', userId: 'u9' }, // no name: rejected
  'not json',
  good[1],
  '',
  { type: 'nope', userId: 'u9' }, // unknown type: rejected
  good[2],
)

async function countEvents(url: string): Promise<number> {
  const store = await createStore(url)
  try {
    let n = 0
    for await (const _ of store.exportEvents('default', {})) n++
    return n
  } finally {
    await store.close()
  }
}

describe('tally import', () => {
  let db: ReturnType<typeof tempDatabase>
  beforeEach(() => {
    db = tempDatabase()
  })
  afterEach(() => db.remove())

  it('should refuse --errors naming the input file, under any name, and leave both files alone (it emptied the input)', async () => {
    const file = join(db.dir, 'events.ndjson')
    writeFileSync(file, FILE_WITH_BAD_LINES)
    for (const errors of [file, join(db.dir, '.', 'events.ndjson')]) {
      const run = await runCli(['import', file, '--db', db.url, '--errors', errors])
      expect(run.code).toBe(2)
      expect(run.stderr).toMatch(/is the input file/)
      expect(readFileSync(file, 'utf8')).toBe(FILE_WITH_BAD_LINES)
    }
    // The same through stdin redirected from the file (`tally import - --errors f < f`).
    const cli = fileURLToPath(new URL('../index.ts', import.meta.url))
    const input = openSync(file, 'r')
    try {
      const piped = spawnSync(
        process.execPath,
        ['--import', 'tsx', cli, 'import', '-', '--db', db.url, '--errors', file],
        {
          stdio: [input, 'pipe', 'pipe'],
          encoding: 'utf8',
        },
      )
      expect(piped.status).toBe(2)
      expect(piped.stderr).toMatch(/is the input file/)
    } finally {
      closeSync(input)
    }
    expect(readFileSync(file, 'utf8')).toBe(FILE_WITH_BAD_LINES)
    // A run refused before reading (an unknown project) leaves an existing errors file as it was.
    const errors = join(db.dir, 'errors.ndjson')
    writeFileSync(errors, 'kept\n')
    const refused = await runCli(['import', file, '--db', db.url, '--project', 'nope', '--errors', errors])
    expect(refused.code).not.toBe(0)
    expect(readFileSync(errors, 'utf8')).toBe('kept\n')
  })

  it('should store valid lines, write each bad line to --errors in input order, summarise and exit 1', async () => {
    const file = join(db.dir, 'events.ndjson')
    const errors = join(db.dir, 'errors.ndjson')
    writeFileSync(file, FILE_WITH_BAD_LINES)
    const run = await runCli(['import', file, '--db', db.url, '--errors', errors])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/6 events — 3 stored, 0 duplicates, 2 rejected, 1 unreadable/)
    const lines = readFileSync(errors, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.map((l) => l.line)).toEqual([2, 3, 6])
    expect(lines[0].errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: '/name', code: 'required' })]),
    )
    expect(lines[1].errors[0].code).toBe('invalid_json')
    expect(lines[2].errors.length).toBeGreaterThan(0)
    expect(await countEvents(db.url)).toBe(3)

    // The two rejected events went to the failed-event store, as over HTTP.
    const failed = await runCli(['failed', 'list', '--db', db.url])
    expect(failed.code).toBe(0)
    expect(JSON.parse(failed.stdout).failedEvents).toHaveLength(2)
  })

  it('should stop on SIGINT with every event it read written, a summary, and exit 130 (it died silently)', async () => {
    const stdin = new PassThrough()
    const stderr = new PassThrough()
    const err: string[] = []
    stderr.on('data', (d) => err.push(String(d)))
    const running = main(['import', '-', '--db', db.url, '--batch', '100'], {
      stdin,
      stdout: new PassThrough(),
      stderr,
      env: {},
    })
    const lines = Array.from({ length: 1_000 }, (_, i) =>
      JSON.stringify({ type: 'track', name: 'Imported', userId: `u${i}`, messageId: `sig-${i}` }),
    )
    await new Promise<void>((resolve) => stdin.write(`${lines.join('\n')}\n`, () => resolve()))
    await new Promise((r) => setTimeout(r, 300)) // let it read some; the input stays open, as a pipe would
    process.emit('SIGINT', 'SIGINT')
    expect(await running).toBe(130)
    const text = err.join('')
    const read = Number(/tally import: (\d+) events/.exec(text)?.[1])
    expect(read).toBeGreaterThan(0) // it had read (and must have written) some before the signal
    expect(text).toMatch(
      /stopped by SIGINT after \d+ events, all of them written; run the same command again/,
    )
    const store = await createStore(db.url)
    try {
      expect((await store.queryEvents('default', { names: ['Imported'], limit: 1000 })).events).toHaveLength(
        read,
      )
    } finally {
      await store.close()
    }
  })

  it('should report duplicates, not new rows, when the same file is imported again', async () => {
    const file = join(db.dir, 'events.ndjson')
    writeFileSync(file, ndjson(...good))
    const first = await runCli(['import', file, '--db', db.url])
    expect(first.code).toBe(0)
    expect(first.stderr).toMatch(/3 events — 3 stored, 0 duplicates, 0 rejected/)
    const second = await runCli(['import', file, '--db', db.url])
    expect(second.code).toBe(0)
    expect(second.stderr).toMatch(/3 events — 0 stored, 3 duplicates, 0 rejected/)
    expect(await countEvents(db.url)).toBe(3)

    // An event without a messageId was stored under one derived from its text.
    const page = JSON.parse((await runCli(['query', '--db', db.url, '--type', 'page'])).stdout)
    expect(page.events[0].messageId).toBe(derivedMessageId(JSON.stringify(good[1])))
  })

  it('should keep each rejected event once in the failed-event store when the file is imported again', async () => {
    const file = join(db.dir, 'events.ndjson')
    writeFileSync(file, FILE_WITH_BAD_LINES)
    const failedIds = async () =>
      JSON.parse((await runCli(['failed', 'list', '--db', db.url])).stdout)
        .failedEvents.map((f: { id: string }) => f.id)
        .sort()
    await runCli(['import', file, '--db', db.url])
    const first = await failedIds()
    expect(first).toHaveLength(2)
    for (const id of first)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    const again = await runCli(['import', file, '--db', db.url])
    // Still rejected (exit 1, listed in --errors), but not kept a second time.
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/0 stored, 3 duplicates, 2 rejected \(2 kept already\), 1 unreadable/)
    expect(await failedIds()).toEqual(first)
    // The same rejected event read from another input is the same failed event.
    await runCli(['import', '-', '--db', db.url], { stdin: ndjson({ type: 'track', userId: 'u9' }) })
    expect(await failedIds()).toEqual(first)
    // A line repeated within one import is kept once too, in one group commit or in two.
    for (const batch of ['500', '1']) {
      const twice = await runCli(['import', '-', '--batch', batch, '--db', db.url], {
        stdin: ndjson({ type: 'track', userId: `u-${batch}` }, { type: 'track', userId: `u-${batch}` }),
      })
      expect(twice.stderr).toMatch(/2 rejected \(1 kept already\)/)
    }
    expect(await failedIds()).toHaveLength(4)
  })

  it('should store events without a messageId again with --fresh-ids', async () => {
    const file = join(db.dir, 'events.ndjson')
    writeFileSync(file, ndjson(...good))
    await runCli(['import', file, '--db', db.url, '--fresh-ids'])
    const second = await runCli(['import', file, '--db', db.url, '--fresh-ids'])
    expect(second.stderr).toMatch(/2 stored, 1 duplicates/)
    expect(await countEvents(db.url)).toBe(5)
    // Rejected events likewise: each run keeps them again.
    for (let i = 0; i < 2; i++) {
      await runCli(['import', '-', '--fresh-ids', '--db', db.url], {
        stdin: ndjson({ type: 'track', userId: 'u9' }),
      })
    }
    const failed = JSON.parse((await runCli(['failed', 'list', '--db', db.url])).stdout).failedEvents
    expect(failed).toHaveLength(2)
  })

  it('should read a JSON array from stdin and name the element index of a bad one', async () => {
    const errors = join(db.dir, 'errors.ndjson')
    const input = `[\n${JSON.stringify(good[0])},\n{"type":"track"},\n${JSON.stringify(good[2])}\n]\n`
    const run = await runCli(['import', '-', '--db', db.url, '--errors', errors], { stdin: input })
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/3 events — 2 stored, 0 duplicates, 1 rejected/)
    expect(JSON.parse(readFileSync(errors, 'utf8'))).toMatchObject({ line: 3, index: 1 })
  })

  it('should ingest many small batches (several in flight) without losing or reordering results', async () => {
    const events = Array.from({ length: 57 }, (_, i) =>
      i % 10 === 9
        ? { type: 'track', userId: `u${i}` } // rejected
        : { type: 'track', name: 'Tick', userId: `u${i}`, messageId: `tick-${i}` },
    )
    const errors = join(db.dir, 'errors.ndjson')
    const run = await runCli(['import', '-', '--db', db.url, '--batch', '4', '--errors', errors], {
      stdin: ndjson(...events),
    })
    expect(run.stderr).toMatch(/57 events — 52 stored, 0 duplicates, 5 rejected/)
    const lines = readFileSync(errors, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).line)
    expect(lines).toEqual([10, 20, 30, 40, 50])
    expect(await countEvents(db.url)).toBe(52)
  })

  it('should map Segment messages as the /v1 routes do with --segment', async () => {
    const segment = [
      {
        type: 'track',
        event: 'Order Completed',
        userId: 'u1',
        messageId: 'seg-1',
        properties: { total: 30 },
        _metadata: { nodeVersion: '20' },
        writeKey: 'k',
      },
      { type: 'page', name: 'Home', anonymousId: 'a1', messageId: 'seg-2' },
    ]
    const plain = await runCli(['import', '-', '--db', db.url], { stdin: ndjson(...segment) })
    expect(plain.stderr).toMatch(/1 stored, 0 duplicates, 1 rejected/)
    const run = await runCli(['import', '-', '--segment', '--db', db.url], { stdin: ndjson(...segment) })
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toMatch(/1 stored, 1 duplicates, 0 rejected/)
    const page = JSON.parse((await runCli(['query', '--db', db.url, '--type', 'track'])).stdout)
    expect(page.events[0]).toMatchObject({
      name: 'Order Completed',
      messageId: 'seg-1',
      properties: { total: 30 },
    })
  })

  it('should show a progress line with rate and ETA only when stderr is a terminal', async () => {
    const file = join(db.dir, 'events.ndjson')
    const events = Array.from({ length: 12 }, (_, i) => ({
      type: 'track',
      name: 'T',
      userId: 'u',
      messageId: `p${i}`,
    }))
    writeFileSync(file, ndjson(...events))
    const stderr = Object.assign(new PassThrough(), { isTTY: true })
    const err: string[] = []
    stderr.on('data', (d) => err.push(String(d)))
    const code = await main(['import', file, '--db', db.url, '--batch', '1'], {
      stdin: Readable.from([]),
      stdout: new PassThrough(),
      stderr,
      env: {},
    })
    expect(code).toBe(0)
    const segments = err.join('').split('\r\x1b[K') // each redraw clears the line first
    expect(segments.some((l) => /^\[[#.]{20}\] \d+% {2}\d+ events {2}[\d,]+\/s {2}ETA /.test(l))).toBe(true)
    expect(segments.at(-1)).toMatch(/^tally import: 12 events — 12 stored/)

    const plain = await runCli(['import', file, '--db', db.url])
    expect(plain.stderr).not.toContain('\r')
  })

  it('should refuse bad usage with exit 2 and one line on stderr', async () => {
    const missing = await runCli(['import', '--db', db.url])
    expect(missing.code).toBe(2)
    const noFile = await runCli(['import', join(db.dir, 'nope.ndjson'), '--db', db.url])
    expect(noFile.code).toBe(2)
    expect(noFile.stderr).toMatch(/cannot read .*nope\.ndjson: ENOENT/)
    const batch = await runCli(['import', '-', '--batch', '0', '--db', db.url])
    expect(batch.code).toBe(2)
    expect(batch.stderr.trim().split('\n')).toHaveLength(1)
    const project = await runCli(['import', '-', '--project', 'ghost', '--db', db.url], {
      stdin: ndjson(good[0]),
    })
    expect(project.code).toBe(1)
    expect(project.stderr).toMatch(/project "ghost" does not exist/)
  })
})

const pgReachable = await isPostgresReachable()

describe.runIf(pgReachable || IN_CI)('postgres: tally import + query', () => {
  it('should import NDJSON and query it back with a --where filter', async () => {
    const pg = await createFreshPostgresDatabase()
    try {
      const first = await runCli(['import', '-', '--db', pg.url], { stdin: ndjson(...good, 'oops') })
      expect(first.code).toBe(1)
      expect(first.stderr).toMatch(/4 events — 3 stored, 0 duplicates, 0 rejected, 1 unreadable/)
      const again = await runCli(['import', '-', '--db', pg.url], { stdin: ndjson(...good) })
      expect(again.stderr).toMatch(/0 stored, 3 duplicates/)
      // Rejected events are kept once however often they are imported.
      for (let i = 0; i < 2; i++) {
        const bad = await runCli(['import', '-', '--db', pg.url], { stdin: FILE_WITH_BAD_LINES })
        expect(bad.code).toBe(1)
      }
      const failed = JSON.parse((await runCli(['failed', 'list', '--db', pg.url])).stdout).failedEvents
      expect(failed).toHaveLength(2)
      const query = await runCli(['query', '--db', pg.url, '--where', 'properties.plan=in:pro,team'])
      expect(query.code).toBe(0)
      const page = JSON.parse(query.stdout)
      expect(page.events.map((e: { messageId: string }) => e.messageId)).toEqual(['m-1'])
    } finally {
      await pg.drop()
    }
  })
})
