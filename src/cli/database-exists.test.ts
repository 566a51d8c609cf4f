import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCli, tempDatabase } from '../../test/helpers/run-cli.js'

/** Every command that only reads (or only changes what is already there): none may create a database. */
const NEEDS_EXISTING: string[][] = [
  ['query'],
  ['export'],
  ['stats', 'overview'],
  ['failed', 'list'],
  ['failed', 'replay'],
  ['keys', 'list'],
  ['keys', 'revoke', 'some-id'],
  ['projects', 'list'],
  ['schema', 'list'],
  ['schema', 'show', 'track', 'X'],
  ['audit'],
  ['purge', '--older-than', '90d'],
]

describe('a mistyped --db', () => {
  let db: ReturnType<typeof tempDatabase>
  beforeEach(() => {
    db = tempDatabase()
  })
  afterEach(() => db.remove())

  it('should make every read command fail with store_unavailable, creating no file or directory', async () => {
    const missingDir = join(db.dir, 'nonexistent')
    const file = join(missingDir, 'dir', 'x.db')
    for (const argv of NEEDS_EXISTING) {
      const run = await runCli([...argv, '--db', `sqlite:${file}`])
      expect(run.code, argv.join(' ')).toBe(1)
      expect(run.stdout, argv.join(' ')).toBe('')
      expect(run.stderr).toBe(
        `tally ${argv[0]}: database not found: ${file} — run "tally migrate" or "tally serve" first, or check --db (store_unavailable)\n`,
      )
      expect(existsSync(missingDir), argv.join(' ')).toBe(false)
    }
    // Through TALLY_DATABASE_URL too.
    const env = await runCli(['query'], { env: { TALLY_DATABASE_URL: `sqlite:${file}` } })
    expect(env.code).toBe(1)
    expect(env.stderr).toMatch(/database not found/)
    expect(existsSync(missingDir)).toBe(false)
  })

  it('should still let the commands that add to the database create it', async () => {
    const cases: [string[], string?][] = [
      [['migrate']],
      [['import', '-'], '{"type":"track","name":"A","userId":"u"}\n'],
      [['keys', 'create', '--role', 'read']],
      [['projects', 'create', 'shop']],
      [['schema', 'add', 'track', 'A', '1-0-0', '-'], '{"type":"object"}'],
    ]
    for (const [i, [argv, stdin]] of cases.entries()) {
      const file = join(db.dir, `new-${i}`, 'tally.db')
      const run = await runCli([...argv, '--db', `sqlite:${file}`], { stdin })
      expect(run.code, `${argv.join(' ')}: ${run.stderr}`).toBe(0)
      expect(existsSync(file), argv.join(' ')).toBe(true)
      // …after which the read commands work on it.
      const query = await runCli(['query', '--db', `sqlite:${file}`])
      expect(query.code, query.stderr).toBe(0)
    }
  })

  it('should refuse an existing file without Tally tables (an empty one too), and leave sqlite::memory: alone', async () => {
    const file = join(db.dir, 'empty.db')
    writeFileSync(file, '')
    const empty = await runCli(['query', '--db', `sqlite:${file}`])
    expect(empty.code).toBe(1)
    expect(empty.stderr).toMatch(/holds no Tally database — run "tally migrate"/)
    expect((await runCli(['query', '--db', 'sqlite::memory:'])).code).toBe(0)
  })

  it('should call a --db that cannot be a SQLite file a bad setting (exit 2), not an internal error or a hang', async () => {
    const text = join(db.dir, 'notes.txt')
    writeFileSync(text, 'hello, not a database\n')
    const notSqlite = await runCli(['migrate', '--db', `sqlite:${text}`])
    expect(notSqlite.code).toBe(2)
    expect(notSqlite.stderr).toMatch(/is not a SQLite database.*\(config_invalid\)/)
    const underFile = await runCli(['migrate', '--db', `sqlite:${join(text, 'x.db')}`])
    expect(underFile.code).toBe(2)
    expect(underFile.stderr).toMatch(/cannot create the directory .*ENOTDIR.*\(config_invalid\)/)
    // mkdirSync({ recursive: true }) under /proc looped forever at full CPU.
    const proc = await runCli(['migrate', '--db', 'sqlite:/proc/tally-nope/x.db'])
    expect(proc.code).toBe(2)
    expect(proc.stderr).toMatch(/ENOENT.*\(config_invalid\)/)
  })
})
