import { userInfo } from 'node:os'
import { afterAll, describe, expect, it } from 'vitest'
import { createFreshPostgresDatabase, IN_CI, isPostgresReachable } from '../../test/helpers/dialects.js'
import { createStore } from '../store/create-store.js'
import type { KyselyEventStore } from '../store/kysely-event-store.js'
import { AuditLog, cliActor } from './audit-log.js'

const pgUp = await isPostgresReachable()
const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const c of cleanups) await c()
})

async function open(dialect: 'sqlite' | 'postgres'): Promise<KyselyEventStore> {
  if (dialect === 'sqlite') {
    const store = await createStore('sqlite::memory:', { migrate: true })
    cleanups.push(() => store.close())
    return store
  }
  const db = await createFreshPostgresDatabase()
  const store = await createStore(db.url, { migrate: true })
  cleanups.push(async () => {
    await store.close()
    await db.drop()
  })
  return store
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && !pgUp && !IN_CI)(`${dialect}: AuditLog`, () => {
    it('should list a project’s entries newest first, paged, filtered by action and time', async () => {
      const audit = new AuditLog((await open(dialect)).db)
      const t0 = Date.parse('2026-11-01T00:00:00Z')
      for (let i = 0; i < 5; i++) {
        await audit.record({
          projectId: 'p',
          actor: { kind: 'key', keyId: `k${i}` },
          action: i % 2 ? 'key.revoked' : 'key.created',
          target: `t${i}`,
          details: { i },
          at: new Date(t0 + i * 60_000),
        })
      }
      await audit.record({ projectId: 'q', actor: cliActor({ USER: 'ops' }), action: 'events.purged' })

      const all = await audit.list('p')
      expect(all.entries.map((e) => e.target)).toEqual(['t4', 't3', 't2', 't1', 't0'])
      expect(all.entries[0]).toMatchObject({ actor: 'key', actorKeyId: 'k4', details: { i: 4 } })
      const page1 = await audit.list('p', { limit: 2 })
      const page2 = await audit.list('p', { limit: 2, cursor: page1.nextCursor as string })
      const page3 = await audit.list('p', { limit: 2, cursor: page2.nextCursor as string })
      expect([...page1.entries, ...page2.entries, ...page3.entries].map((e) => e.target)).toEqual([
        't4',
        't3',
        't2',
        't1',
        't0',
      ])
      expect(page3.nextCursor).toBeNull()
      expect((await audit.list('p', { action: 'key.revoked' })).entries.map((e) => e.target)).toEqual([
        't3',
        't1',
      ])
      const window = await audit.list('p', {
        from: new Date(t0 + 60_000).toISOString(),
        to: new Date(t0 + 3 * 60_000).toISOString(),
      })
      expect(window.entries.map((e) => e.target)).toEqual(['t2', 't1'])
      expect((await audit.list('q')).entries[0]).toMatchObject({
        actor: 'cli',
        actorKeyId: null,
        details: { user: 'ops' },
      })
    })

    it('should refuse a forged cursor and a bad date with stable codes', async () => {
      const audit = new AuditLog((await open(dialect)).db)
      await expect(
        audit.list('p', { cursor: Buffer.from("x' or 1=1").toString('base64url') }),
      ).rejects.toMatchObject({
        code: 'invalid_cursor',
      })
      await expect(audit.list('p', { from: 'yesterday' })).rejects.toMatchObject({
        code: 'validation_failed',
      })
    })
  })
}

describe('cliActor', () => {
  it('should name the sudo user, then USER/LOGNAME, then the OS account when the environment has none', () => {
    expect(cliActor({ SUDO_USER: 'ann', USER: 'root' }, () => 'x')).toEqual({ kind: 'cli', user: 'ann' })
    expect(cliActor({ LOGNAME: 'bob' }, () => 'x')).toEqual({ kind: 'cli', user: 'bob' })
    expect(cliActor({}, () => 'svc-tally')).toEqual({ kind: 'cli', user: 'svc-tally' })
    expect(cliActor({}, () => undefined)).toEqual({ kind: 'cli' })
    expect(cliActor({})).toEqual({ kind: 'cli', user: userInfo().username })
  })
})
