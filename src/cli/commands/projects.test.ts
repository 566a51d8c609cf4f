import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createFreshPostgresDatabase, IN_CI, isPostgresReachable } from '../../../test/helpers/dialects.js'
import { ndjson, runCli, tempDatabase } from '../../../test/helpers/run-cli.js'
import { DEFAULT_PROJECT_SETTINGS } from '../../store/project-types.js'

describe('tally projects', () => {
  let db: ReturnType<typeof tempDatabase>
  beforeEach(() => {
    db = tempDatabase()
  })
  afterEach(() => db.remove())

  it('should create a project, print it as JSON, list it, and let keys and import use it', async () => {
    const created = await runCli(['projects', 'create', 'shop', '--name', 'The shop', '--db', db.url])
    expect(created.code, created.stderr).toBe(0)
    const project = JSON.parse(created.stdout)
    expect(project).toEqual({
      id: 'shop',
      name: 'The shop',
      createdAt: expect.any(String),
      settings: { ...DEFAULT_PROJECT_SETTINGS },
    })
    expect(Date.parse(project.createdAt)).not.toBeNaN()
    // The next step is on stderr, so stdout stays one JSON document.
    expect(created.stderr).toMatch(/tally keys create --project shop --role write\|read\|admin/)

    // Without --name the name is the id.
    const plain = JSON.parse((await runCli(['projects', 'create', 'blog', '--db', db.url])).stdout)
    expect(plain).toMatchObject({ id: 'blog', name: 'blog' })

    const list = await runCli(['projects', 'list', '--db', db.url])
    expect(list.code).toBe(0)
    expect(JSON.parse(list.stdout)).toEqual({ projects: [project, plain] })

    // The gap the trial hit: a key and an import for a project other than "default".
    const key = await runCli(['keys', 'create', '--project', 'shop', '--role', 'write', '--db', db.url])
    expect(key.code, key.stderr).toBe(0)
    expect(JSON.parse(key.stdout)).toMatchObject({ projectId: 'shop', role: 'write' })
    const imported = await runCli(['import', '-', '--project', 'shop', '--db', db.url], {
      stdin: ndjson({ type: 'track', name: 'A', userId: 'u1', messageId: 'm1' }),
    })
    expect(imported.code, imported.stderr).toBe(0)
    const query = JSON.parse((await runCli(['query', '--project', 'shop', '--db', db.url])).stdout)
    expect(query.events).toEqual([expect.objectContaining({ projectId: 'shop', messageId: 'm1' })])
  })

  it('should refuse a project id that exists already with conflict (exit 1), changing nothing', async () => {
    const first = await runCli(['projects', 'create', 'shop', '--name', 'First', '--db', db.url])
    expect(first.code).toBe(0)
    const again = await runCli(['projects', 'create', 'shop', '--name', 'Second', '--db', db.url])
    expect(again.code).toBe(1)
    expect(again.stdout).toBe('')
    expect(again.stderr).toBe('tally projects: project "shop" already exists (conflict)\n')
    // `default` exists once any command has used it (as `tally serve` creates it).
    await runCli(['keys', 'list', '--db', db.url])
    const dflt = await runCli(['projects', 'create', 'default', '--db', db.url])
    expect(dflt.code).toBe(1)
    expect(dflt.stderr).toMatch(/project "default" already exists \(conflict\)$/m)
    const { projects } = JSON.parse((await runCli(['projects', 'list', '--db', db.url])).stdout)
    expect(projects.map((p: { id: string; name: string }) => [p.id, p.name])).toEqual([
      ['shop', 'First'],
      ['default', 'Default'],
    ])
  })

  it('should refuse an invalid id or name with a usage error (exit 2) before touching the database', async () => {
    const cases: [string[], RegExp][] = [
      [['projects', 'create', ''], /project id must be 1–255 characters/],
      [['projects', 'create', 'x'.repeat(256)], /project id must be 1–255 characters \(got 256\)/],
      [['projects', 'create', 'a\nb'], /project id must not contain control characters/],
      [['projects', 'create', 'a\u0000b'], /project id must not contain control characters/],
      [['projects', 'create', ' shop'], /project id must not start or end with whitespace/],
      [['projects', 'create', 'shop', '--name', ''], /--name must be 1–255 characters/],
      [['projects', 'create', 'shop', '--name', 'a\nb'], /--name must be .* without control characters/],
      [['projects', 'create'], /missing project ID/],
      [['projects', 'create', 'a', 'b'], /unexpected argument "b"/],
      [['projects', 'list', 'extra'], /unexpected argument "extra"/],
      [['projects', 'create', 'shop', '--project', 'x'], /unknown option --project; see/],
      [['projects', 'rename'], /unknown action "rename"; create or list/],
      [['projects'], /missing action: create or list/],
    ]
    for (const [argv, message] of cases) {
      const run = await runCli([...argv, '--db', db.url])
      expect(run.code, argv.join(' ')).toBe(2)
      expect(run.stderr, argv.join(' ')).toMatch(message)
      expect(run.stderr.trim().split('\n'), argv.join(' ')).toHaveLength(1)
      expect(run.stderr, argv.join(' ')).toMatch(/; see "tally projects --help" \(usage\)\n$/)
    }
    expect(existsSync(join(db.dir, 'tally.db'))).toBe(false)
    // Ids the rest of the system takes are fine: any plain text up to 255 characters.
    for (const id of ['Shop EU', 'shop.eu-1', 'ünïcode', 'x'.repeat(255)]) {
      const run = await runCli(['projects', 'create', id, '--db', db.url])
      expect(run.code, `${id}: ${run.stderr}`).toBe(0)
      expect(JSON.parse(run.stdout).id).toBe(id)
    }
    // …and --project applies the same rule.
    const bad = await runCli(['keys', 'list', '--project', 'a\tb', '--db', db.url])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--project must not contain control characters/)
  })

  it("should record the creation in the new project's audit log with the CLI actor", async () => {
    const run = await runCli(['projects', 'create', 'shop', '--name', 'Shop', '--db', db.url], {
      env: { USER: 'ops-alice' },
    })
    expect(run.code).toBe(0)
    const audit = await runCli(['audit', '--project', 'shop', '--db', db.url])
    expect(audit.code, audit.stderr).toBe(0)
    expect(JSON.parse(audit.stdout).entries).toEqual([
      expect.objectContaining({
        projectId: 'shop',
        action: 'project.created',
        target: 'shop',
        actor: 'cli',
        actorKeyId: null,
        details: { user: 'ops-alice', name: 'Shop' },
      }),
    ])
    // A refused duplicate records nothing.
    await runCli(['projects', 'create', 'shop', '--db', db.url])
    const filtered = await runCli([
      'audit',
      '--project',
      'shop',
      '--action',
      'project.created',
      '--db',
      db.url,
    ])
    expect(JSON.parse(filtered.stdout).entries).toHaveLength(1)
  })

  it('should create the database for create, but not for list', async () => {
    const file = join(db.dir, 'sub', 'new.db')
    const list = await runCli(['projects', 'list', '--db', `sqlite:${file}`])
    expect(list.code).toBe(1)
    expect(list.stderr).toMatch(/database not found: .* \(store_unavailable\)\n$/)
    expect(existsSync(join(db.dir, 'sub'))).toBe(false)
    const create = await runCli(['projects', 'create', 'shop', '--db', `sqlite:${file}`])
    expect(create.code, create.stderr).toBe(0)
    expect(existsSync(file)).toBe(true)
    // Creating a project does not create `default` on the side: the list shows what is there.
    const listed = JSON.parse((await runCli(['projects', 'list', '--db', `sqlite:${file}`])).stdout)
    expect(listed.projects.map((p: { id: string }) => p.id)).toEqual(['shop'])
  })

  it('should show the path from a new project to its keys in --help', async () => {
    const help = await runCli(['projects', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: tally projects create ID \[--name NAME\]/)
    expect(help.stdout).toContain('tally keys create --project ID --role write|read|admin')
    const keys = await runCli(['keys', '--help'])
    expect(keys.stdout).toContain('tally projects create ID')
    const top = await runCli(['--help'])
    expect(top.stdout).toMatch(/^ {2}projects +/m)
  })
})

const pgReachable = await isPostgresReachable()

describe.runIf(pgReachable || IN_CI)('postgres: tally projects', () => {
  it('should create, refuse a duplicate, list and audit on PostgreSQL', async () => {
    const pg = await createFreshPostgresDatabase()
    try {
      const created = await runCli(['projects', 'create', 'shop', '--name', 'Shop', '--db', pg.url])
      expect(created.code, created.stderr).toBe(0)
      const again = await runCli(['projects', 'create', 'shop', '--db', pg.url])
      expect(again.code).toBe(1)
      expect(again.stderr).toBe('tally projects: project "shop" already exists (conflict)\n')
      const list = JSON.parse((await runCli(['projects', 'list', '--db', pg.url])).stdout)
      expect(list.projects).toEqual([JSON.parse(created.stdout)])
      const audit = JSON.parse((await runCli(['audit', '--project', 'shop', '--db', pg.url])).stdout)
      expect(audit.entries.map((e: { action: string }) => e.action)).toEqual(['project.created'])
    } finally {
      await pg.drop()
    }
  })
})
