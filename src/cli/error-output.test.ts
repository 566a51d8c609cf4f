import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, tempDatabase } from '../../test/helpers/run-cli.js'

/** docs/cli.md: every error is one line, `tally CMD: message (code)`; a usage error says where to look. */
const USAGE_LINE = /^tally(?: (\w+))?: [^\n]+; see "tally(?: \1)? --help" \(usage\)\n$/

describe('CLI error lines', () => {
  let db: ReturnType<typeof tempDatabase>
  beforeAll(async () => {
    db = tempDatabase()
    await runCli(['migrate', '--db', db.url])
  })
  afterAll(() => db.remove())

  it('should end a usage error with the help hint and (usage), on one line, exit 2', async () => {
    const limit = await runCli(['query', '--limit', '5000', '--db', db.url])
    expect(limit.code).toBe(2)
    expect(limit.stderr).toBe(
      'tally query: --limit must be <= 1000 (got 5000); see "tally query --help" (usage)\n',
    )

    const cases: string[][] = [
      ['query', '--frm', 'x'],
      ['export', '--format', 'xml'],
      ['stats', 'nope'],
      ['import'],
      ['failed', 'list', '--max', '3'],
      ['keys', 'create', '--role', 'root'],
      ['schema', 'show'],
      ['purge'],
      ['audit', '--limit', '0'],
      ['migrate', 'extra'],
      ['validate', '--mode', 'strict'],
      ['validate', '--bogus'],
      ['validate', 'a.ndjson', 'b.ndjson'],
      ['validate', join(db.dir, 'missing.ndjson')],
      ['worker', '--bogus'],
      ['worker', '--db', db.url],
      // Limits are named ("a positive integer" did not say which).
      ['worker', '--db', db.url, '--queue', 'nats://127.0.0.1:1', '--batch-size', '99999999'],
      ['worker', '--db', db.url, '--queue', 'nats://127.0.0.1:1', '--concurrency', '100000'],
      ['serve', '--bogus'],
      ['nope'],
    ]
    for (const argv of cases) {
      const run = await runCli(argv)
      expect(run.code, argv.join(' ')).toBe(2)
      expect(run.stderr.split('\n')[0] + '\n', argv.join(' ')).toMatch(USAGE_LINE)
      if (argv[0] !== 'nope') expect(run.stderr, argv.join(' ')).toMatch(USAGE_LINE)
    }
  })

  it('should answer a bad worker setting with config_invalid and exit 2, as serve does (it was 1)', async () => {
    for (const command of ['worker', 'serve']) {
      const run = await runCli([command, '--db', db.url, '--queue', 'http://x'])
      expect(run.code, command).toBe(2)
      expect(run.stderr).toMatch(
        /TALLY_QUEUE_URL entries look like nats:\/\/host:port.*\(config_invalid\)\n$/,
      )
    }
  })

  it('should keep the code of a command-line error that is not "usage" (validate --schemas)', async () => {
    const run = await runCli(['validate', '--schemas', join(db.dir, 'none')])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(
      /^tally validate: --schemas: cannot read schema directory .*ENOENT; see "tally validate --help" \(usage\)\n$/,
    )
  })

  it('should say "invalid cursor" with the API code, never the decoded bytes', async () => {
    for (const argv of [['query'], ['failed', 'list'], ['audit']]) {
      const run = await runCli([...argv, '--cursor', 'garbage', '--db', db.url])
      expect(run.code, argv.join(' ')).toBe(2)
      expect(run.stderr).toMatch(
        new RegExp(
          `^tally ${argv[0]}: invalid cursor: the cursor is malformed[^;\\n]*; see "tally ${argv[0]} --help" \\(invalid_cursor\\)\\n$`,
        ),
      )
    }
    // A real cursor replayed with other filters.
    await runCli(['import', '-', '--db', db.url], {
      stdin:
        '{"type":"track","name":"A","userId":"u","messageId":"c1"}\n{"type":"track","name":"A","userId":"u","messageId":"c2"}\n',
    })
    const page = JSON.parse((await runCli(['query', '--limit', '1', '--db', db.url])).stdout)
    expect(page.nextCursor).toEqual(expect.any(String))
    const other = await runCli([
      'query',
      '--limit',
      '1',
      '--type',
      'page',
      '--cursor',
      page.nextCursor,
      '--db',
      db.url,
    ])
    expect(other.code).toBe(2)
    expect(other.stderr).toMatch(
      /^tally query: invalid cursor: the cursor was issued for a different query; .*\(invalid_cursor\)\n$/,
    )
  })

  it('should not repeat the schema_invalid message', async () => {
    const run = await runCli(['schema', 'add', 'track', 'A', '1-0-0', '-', '--db', db.url], {
      stdin: '{"type":"object","requried":["plan"]}',
    })
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(
      'tally schema: invalid JSON Schema (draft-07): strict mode: unknown keyword: "requried" (schema_invalid)\n',
    )
  })
})
