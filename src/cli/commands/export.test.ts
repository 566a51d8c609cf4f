import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ndjson, runCli, tempDatabase } from '../../../test/helpers/run-cli.js'
import { CSV_COLUMNS } from '../../http/routes/export-format.js'

const events = [
  { type: 'track', name: 'Signed Up', userId: 'u1', messageId: 'm-1', properties: { plan: 'pro' } },
  {
    type: 'track',
    name: 'Said "hi", then left',
    userId: 'u2',
    messageId: 'm-2',
    properties: { note: 'a,b "c"\r\nnext line', nested: { n: 1 } },
  },
  { type: 'page', name: 'Home', anonymousId: 'a1', messageId: 'm-3', properties: { path: '/' } },
  { type: 'track', name: '=HYPERLINK("x")', userId: 'u3', messageId: 'm-4', properties: { cell: '=1+1' } },
]

/** A strict RFC 4180 reader (quoted fields, doubled quotes, CRLF rows), for checking the export. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(field)
      field = ''
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field)
      rows.push(row)
      row = []
      field = ''
      i++
    } else field += c
  }
  if (field !== '' || row.length > 0) rows.push([...row, field])
  return rows
}

describe('tally export', () => {
  const db = tempDatabase()
  beforeAll(async () => {
    const run = await runCli(['import', '-', '--db', db.url], { stdin: ndjson(...events) })
    expect(run.code).toBe(0)
  })
  afterAll(() => db.remove())

  it('should stream every matching event as NDJSON, oldest first, with a count on stderr', async () => {
    const run = await runCli(['export', '--db', db.url])
    expect(run.code).toBe(0)
    expect(run.stderr).toBe('tally export: 4 events (ndjson)\n')
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.map((e) => e.messageId)).toEqual(['m-1', 'm-2', 'm-3', 'm-4'])
    expect(lines[1]).toMatchObject({ name: events[1].name, properties: events[1].properties })

    const filtered = await runCli([
      'export',
      '--db',
      db.url,
      '--type',
      'track',
      '--where',
      'properties.plan=pro',
    ])
    expect(
      filtered.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).messageId),
    ).toEqual(['m-1'])
  })

  it('should take --order desc for newest first (the HTTP export default) and refuse another order', async () => {
    const run = await runCli(['export', '--db', db.url, '--order', 'desc'])
    expect(run.code, run.stderr).toBe(0)
    expect(
      run.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).messageId),
    ).toEqual(['m-4', 'm-3', 'm-2', 'm-1'])
    const asc = await runCli(['export', '--db', db.url, '--order', 'asc'])
    expect(asc.stdout).toBe((await runCli(['export', '--db', db.url])).stdout)
    const bad = await runCli(['export', '--db', db.url, '--order', 'newest'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^tally export: --order must be one of asc, desc/)
  })

  it('should write CSV with the fixed columns and escaped fields that read back to the same values', async () => {
    const out = join(db.dir, 'events.csv')
    const run = await runCli(['export', '--db', db.url, '--format', 'csv', '--output', out])
    expect(run.code).toBe(0)
    expect(run.stdout).toBe('')
    const rows = parseCsv(readFileSync(out, 'utf8'))
    expect(rows[0]).toEqual([...CSV_COLUMNS])
    expect(rows).toHaveLength(5)
    const json = (await runCli(['export', '--db', db.url])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    for (const [i, row] of rows.slice(1).entries()) {
      const record = Object.fromEntries(CSV_COLUMNS.map((c, k) => [c, row[k]]))
      expect(record.id).toBe(json[i].id)
      expect(record.messageId).toBe(json[i].messageId)
      expect(record.timestamp).toBe(json[i].timestamp)
      expect(JSON.parse(record.context)).toEqual(json[i].context)
      expect(JSON.parse(record.properties)).toEqual(json[i].properties)
    }
    expect(rows[2][CSV_COLUMNS.indexOf('name')]).toBe(events[1].name) // quotes and comma survive
    // A cell a spreadsheet would run as a formula is prefixed with a quote (CSV injection).
    expect(rows[4][CSV_COLUMNS.indexOf('name')]).toBe(`'${events[3].name}`)
  })

  it('should refuse an unknown format or an unwritable output with exit 2', async () => {
    expect((await runCli(['export', '--db', db.url, '--format', 'xml'])).code).toBe(2)
    const run = await runCli(['export', '--db', db.url, '--output', join(db.dir, 'no', 'such', 'dir.csv')])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/cannot write --output/)
  })
})

describe('tally export into a pipe that closes early (tally export | head -1)', () => {
  it('should stop quietly, without a stack trace', { timeout: 60_000 }, async () => {
    const db = tempDatabase()
    try {
      const many = Array.from({ length: 3000 }, (_, i) => ({
        type: 'track',
        name: 'Piped',
        userId: `u${i}`,
        messageId: `pipe-${i}`,
        properties: { pad: 'x'.repeat(100) },
      }))
      expect((await runCli(['import', '-', '--db', db.url], { stdin: ndjson(...many) })).code).toBe(0)
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'src/cli/index.ts', 'export', '--db', db.url],
        {
          cwd: process.cwd(),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let stderr = ''
      child.stderr.on('data', (d) => (stderr += d))
      child.stdout.once('data', () => child.stdout.destroy()) // the reader goes away after its first line
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
      expect(stderr).not.toMatch(/EPIPE|\n\s+at /)
      expect(code).toBe(0)
    } finally {
      db.remove()
    }
  })
})
