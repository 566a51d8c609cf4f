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

  it('should keep the code of a command-line error that is not "usage" (validate --schemas)', async () => {
    const run = await runCli(['validate', '--schemas', join(db.dir, 'none')])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(
      /^tally validate: --schemas: cannot read schema directory .*ENOENT; see "tally validate --help" \(usage\)\n$/,
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
