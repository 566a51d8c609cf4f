import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createFreshPostgresDatabase, IN_CI, isPostgresReachable } from '../../../test/helpers/dialects.js'
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
    expect(bad.stderr).toMatch(/must start with sqlite:, postgres:\/\/ or postgresql:\/\//)
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

describe('commands on a database without Tally migrations', () => {
  it('should refuse, with a pending-migrations message, when TALLY_MIGRATE_ON_START is false', async () => {
    const db = tempDatabase()
    try {
      // An empty SQLite file: the database exists, its schema does not.
      writeFileSync(join(db.dir, 'tally.db'), '')
      const run = await runCli(['query', '--db', db.url], { env: { TALLY_MIGRATE_ON_START: 'false' } })
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/holds no Tally database — run "tally migrate"/)
      const migrated = await runCli(['migrate', '--db', db.url])
      expect(migrated.code).toBe(0)
      const after = await runCli(['query', '--db', db.url], { env: { TALLY_MIGRATE_ON_START: 'false' } })
      expect(after.code, after.stderr).toBe(0)
      // An older Tally's database (the last migration not applied yet): named, not "no such table".
      const file = new Database(join(db.dir, 'tally.db'))
      file.prepare('delete from tally_migrations where name = ?').run('0007-sqlite-dedupe-index')
      file.close()
      const older = await runCli(['query', '--db', db.url], { env: { TALLY_MIGRATE_ON_START: 'false' } })
      expect(older.code).toBe(1)
      expect(older.stderr).toMatch(/needs migrations \(0007-sqlite-dedupe-index\)/)
    } finally {
      db.remove()
    }
  })
})

describe.runIf((await isPostgresReachable()) || IN_CI)(
  'postgres: a read command on a foreign database',
  () => {
    it('should refuse it and create nothing in it (a --db naming the wrong database)', async () => {
      const database = await createFreshPostgresDatabase()
      const client = new pg.Client({ connectionString: database.url })
      try {
        const run = await runCli(['query', '--db', database.url])
        expect(run.code).toBe(1)
        expect(run.stderr).toMatch(/holds no Tally database/)
        await client.connect()
        const tables = await client.query(
          `select count(*)::int as n from pg_tables where schemaname = 'public'`,
        )
        expect(tables.rows[0].n).toBe(0)
      } finally {
        await client.end().catch(() => {})
        await database.drop()
      }
    })
  },
)
