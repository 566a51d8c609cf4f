import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { validEvents } from '../../validate/test-events.js'
import { main } from '../index.js'

async function run(argv: string[], stdin = '') {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const out: string[] = []
  const err: string[] = []
  stdout.on('data', (d) => out.push(String(d)))
  stderr.on('data', (d) => err.push(String(d)))
  const code = await main(argv, { stdin: Readable.from([Buffer.from(stdin)]), stdout, stderr, env: {} })
  const lines = out
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
  return { code, lines, stderr: err.join('') }
}

function tempDir() {
  return mkdtempSync(join(tmpdir(), 'tally-validate-'))
}

const ev = validEvents()
const ndjson = (...events: unknown[]) =>
  events.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('\n')

describe('tally validate', () => {
  it('should validate NDJSON from stdin: one result per event, blank lines skipped, exit 0', async () => {
    const { code, lines, stderr } = await run(['validate'], `${ndjson(ev.track, '', ev.page)}\r\n\n`)
    expect(code).toBe(0)
    expect(lines).toEqual([
      { line: 1, ok: true },
      { line: 3, ok: true },
    ])
    expect(stderr).toMatch(/2 events — 2 valid, 0 invalid/)
  })

  it('should report each invalid event with its line, errors and exit 1', async () => {
    const { code, lines, stderr } = await run(
      ['validate', '-'],
      ndjson(ev.alias, { type: 'track', userId: 'u' }, 'not json'),
    )
    expect(code).toBe(1)
    expect(lines[0]).toEqual({ line: 1, ok: true })
    expect(lines[1]).toMatchObject({ line: 2, ok: false, errors: [{ path: '/name', code: 'required' }] })
    expect(lines[2]).toMatchObject({ line: 3, ok: false, errors: [{ path: '', code: 'invalid_json' }] })
    expect(stderr).toMatch(/3 events — 1 valid, 2 invalid/)
  })

  it('should read a JSON array from a file, with element index and starting line', async () => {
    const file = join(tempDir(), 'events.json')
    writeFileSync(
      file,
      `[\n  ${JSON.stringify(ev.performance)},\n  {"type":"page","anonymousId":"a,]}\\"x"},\n  {"type":"nope"}\n]\n`,
    )
    const { code, lines } = await run(['validate', file])
    expect(code).toBe(1)
    expect(lines).toMatchObject([
      { line: 2, index: 0, ok: true },
      { line: 3, index: 1, ok: true },
      {
        line: 4,
        index: 2,
        ok: false,
        errors: expect.arrayContaining([expect.objectContaining({ code: 'unknown_event' })]),
      },
    ])
  })

  it('should report a line over the event limit as too_large without keeping it', async () => {
    const big = JSON.stringify({ ...ev.track, properties: { s: 'x'.repeat(40_000) } })
    const { code, lines } = await run(['validate'], ndjson(big, ev.track))
    expect(code).toBe(1)
    expect(lines).toMatchObject([
      { line: 1, ok: false, errors: [{ code: 'too_large' }] },
      { line: 2, ok: true },
    ])
  })

  it('should report an unclosed JSON array', async () => {
    const { code, lines } = await run(['validate'], `[${JSON.stringify(ev.track)}, {"type":"tr`)
    expect(code).toBe(1)
    expect(lines).toMatchObject([
      { index: 0, ok: true },
      { index: 1, ok: false, errors: [{ code: 'invalid_json' }] },
    ])
  })

  it('should apply --schemas DIR with --mode block and warn', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'track', 'Order Completed'), { recursive: true })
    writeFileSync(
      join(dir, 'track', 'Order Completed', '1-0-0.json'),
      JSON.stringify({ type: 'object', required: ['revenue'] }),
    )
    const input = ndjson(ev.track, { ...ev.track, properties: {} }, ev.page)
    const blocked = await run(['validate', '--schemas', dir, '--mode', 'block'], input)
    expect(blocked.code).toBe(1)
    expect(blocked.lines).toMatchObject([
      { line: 1, ok: true, schema: { name: 'track/Order Completed', version: '1-0-0' } },
      { line: 2, ok: false, errors: [{ path: '/properties/revenue', code: 'schema_violation' }] },
      { line: 3, ok: false, errors: [{ path: '/type', code: 'unknown_event' }] },
    ])
    const warned = await run(['validate', '--schemas', dir, '--mode', 'warn'], input)
    expect(warned.code).toBe(0)
    expect(warned.lines[2]).toMatchObject({ ok: true, warnings: [{ code: 'unknown_event' }] })
    expect(warned.stderr).toMatch(/2 with warnings/)
  })

  it("should give the server's verdict on timestamps: an error in block mode, a warning otherwise (it passed them)", async () => {
    const old = { type: 'track', name: 'Old', userId: 'u', timestamp: '2019-01-01T00:00:00Z' }
    const ahead = { ...old, name: 'Ahead', timestamp: new Date(Date.now() + 30 * 86_400_000).toISOString() }
    const dir = tempDir()
    mkdirSync(join(dir, 'track', '*'), { recursive: true })
    writeFileSync(join(dir, 'track', '*', '1-0-0.json'), JSON.stringify({ type: 'object' }))
    const block = await run(['validate', '--schemas', dir, '--mode', 'block'], ndjson(old, ahead))
    expect(block.code).toBe(1)
    expect(block.lines).toMatchObject([
      { line: 1, ok: false, errors: [{ path: '/timestamp', code: 'timestamp_too_old' }] },
      { line: 2, ok: false, errors: [{ path: '/timestamp', code: 'timestamp_in_future' }] },
    ])
    const allow = await run(['validate'], ndjson(old))
    expect(allow.code).toBe(0)
    expect(allow.lines).toMatchObject([
      { line: 1, ok: true, warnings: [{ path: '/timestamp', code: 'timestamp_too_old' }] },
    ])
  })

  it('should exit 2 with a clear message on usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [['validate', '--bogus'], /unknown option --bogus; see/],
      [['validate', '--mode', 'strict'], /--mode must be one of allow, warn, block/],
      [['validate', 'a.json', 'b.json'], /at most one FILE/],
      [['validate', join(tempDir(), 'missing.ndjson')], /cannot read .*ENOENT/],
      [['validate', tempDir()], /cannot read .*EISDIR/],
      [['validate', '--schemas', join(tempDir(), 'none')], /--schemas: cannot read schema directory/],
      [['nope'], /unknown command "nope"/],
      [[], /Usage: tally <command>/],
    ]
    for (const [argv, message] of cases) {
      const { code, stderr } = await run(argv)
      expect(code, argv.join(' ')).toBe(2)
      expect(stderr).toMatch(message)
    }
  })

  it('should exit 2 when a schema in --schemas is invalid or misplaced', async () => {
    const bad = tempDir()
    mkdirSync(join(bad, 'track', 'X'), { recursive: true })
    writeFileSync(join(bad, 'track', 'X', '1-0-0.json'), '{"type":"objekt"}')
    expect(await run(['validate', '--schemas', bad])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/schema_invalid/),
    })
    const misnamed = tempDir()
    mkdirSync(join(misnamed, 'track', 'X'), { recursive: true })
    writeFileSync(join(misnamed, 'track', 'X', 'v1.json'), '{}')
    expect(await run(['validate', '--schemas', misnamed])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/schema_version_invalid/),
    })
    const wrongType = tempDir()
    mkdirSync(join(wrongType, 'purchase', 'X'), { recursive: true })
    expect(await run(['validate', '--schemas', wrongType])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/not an event type/),
    })
  })

  it('should print help with --help and exit 0', async () => {
    const stdout = new PassThrough()
    let text = ''
    stdout.on('data', (d) => (text += d))
    const code = await main(['validate', '--help'], {
      stdin: Readable.from([]),
      stdout,
      stderr: new PassThrough(),
      env: {},
    })
    expect(code).toBe(0)
    expect(text).toMatch(/DIR\/<type>\/<name>\/<version>\.json/)
  })
})
