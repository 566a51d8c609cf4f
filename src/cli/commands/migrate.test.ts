import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCli, tempDatabase } from '../../../test/helpers/run-cli.js'
import { COMMANDS } from '../index.js'

describe('tally migrate', () => {
  let db: ReturnType<typeof tempDatabase>
  beforeEach(() => {
    db = tempDatabase()
  })
  afterEach(() => db.remove())

  it('should apply the migrations once and then say the database is up to date', async () => {
    const first = await runCli(['migrate', '--db', db.url])
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/^applied 0001-initial$/m)
    const second = await runCli(['migrate', '--db', db.url])
    expect(second.stdout).toBe('tally migrate: the database is up to date\n')
  })

  it('should read the database URL from TALLY_DATABASE_URL and refuse a bad one with exit 2', async () => {
    const run = await runCli(['migrate'], { env: { TALLY_DATABASE_URL: db.url } })
    expect(run.stdout).toMatch(/applied/)
    const bad = await runCli(['migrate', '--db', 'mysql://localhost/x'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/must start with sqlite: or postgres:\/\//)
    expect((await runCli(['migrate', '--project', 'x', '--db', db.url])).code).toBe(2)
  })

  it('should fail with exit 1 and one line when the database cannot be reached', async () => {
    const run = await runCli(['migrate', '--db', 'postgres://nobody@127.0.0.1:1/tally'])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/^tally migrate: .*ECONNREFUSED.*\(store_unavailable\)\n$/)
  })
})

describe('tally COMMAND --help', () => {
  it('should print usage and exit 0 for every command', async () => {
    for (const name of Object.keys(COMMANDS)) {
      if (name === 'serve') continue // serve's help goes through its own io; covered by its tests
      const run = await runCli([name, '--help'])
      expect(run.code, name).toBe(0)
      expect(run.stdout, name).toMatch(new RegExp(`^Usage: tally ${name}\\b`))
    }
  })
})
