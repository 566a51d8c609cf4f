import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCli, tempDatabase } from '../../../test/helpers/run-cli.js'

describe('tally audit', () => {
  let db: ReturnType<typeof tempDatabase>
  beforeEach(() => {
    db = tempDatabase()
  })
  afterEach(() => db.remove())

  it('should list every admin action done from the CLI, newest first, with the OS user as actor', async () => {
    const env = { USER: 'ops-alice' }
    const created = await runCli(['keys', 'create', '--role', 'read', '--db', db.url], { env })
    const key = JSON.parse(created.stdout)
    expect((await runCli(['keys', 'revoke', key.id, '--db', db.url], { env })).code).toBe(0)
    const schema = join(db.dir, 'plan.json')
    writeFileSync(schema, JSON.stringify({ type: 'object', properties: { plan: { type: 'string' } } }))
    expect(
      (await runCli(['schema', 'add', 'track', 'Signed Up', '1-0-0', schema, '--db', db.url], { env })).code,
    ).toBe(0)
    expect((await runCli(['failed', 'replay', '--db', db.url], { env })).code).toBe(0)
    expect((await runCli(['purge', '--older-than', '90d', '--db', db.url], { env })).code).toBe(0)

    const listed = await runCli(['audit', '--db', db.url])
    expect(listed.code).toBe(0)
    const { entries } = JSON.parse(listed.stdout)
    expect(entries.map((e: { action: string }) => e.action)).toEqual([
      'events.purged',
      'failed_events.replayed',
      'schema.registered',
      'key.revoked',
      'key.created',
    ])
    for (const e of entries)
      expect(e).toMatchObject({
        actor: 'cli',
        actorKeyId: null,
        details: expect.objectContaining({ user: 'ops-alice' }),
      })
    expect(entries[2].target).toBe('track/Signed Up/1-0-0')
    expect(entries[3].target).toBe(key.id)
    expect(entries[4]).toMatchObject({ target: key.id, details: expect.objectContaining({ role: 'read' }) })
    expect(entries[1].details).toMatchObject({ examined: 0, replayed: 0 })
    expect(JSON.stringify(entries)).not.toContain(key.secret)
  })
})
