import { afterEach, describe, expect, it } from 'vitest'
import { AuditLog } from '../audit/audit-log.js'
import { createApiKeyRecord, hashApiKey } from '../http/auth/api-keys.js'
import { createStore } from '../store/create-store.js'
import type { KyselyEventStore } from '../store/kysely-event-store.js'
import { bootstrapDefaultProject, DEFAULT_PROJECT_ID } from './bootstrap.js'

const A = 'tly_a_first-admin-key-0123456789'
const B = 'tly_a_second-admin-key-012345678'

let store: KyselyEventStore | undefined
afterEach(async () => {
  await store?.close()
  store = undefined
})

async function open(): Promise<KyselyEventStore> {
  store = await createStore('sqlite::memory:', { migrate: true })
  return store
}

describe('bootstrapDefaultProject with TALLY_*_KEY', () => {
  it('should let several nodes start at once on a fresh database with the same keys', async () => {
    // Seen in the scale-out chaos test: the second ingest node read the first one's fresh key as revoked.
    const s = await open()
    const config = { adminKey: A, writeKey: 'tly_w_shared-write-key-0123456789' }
    const results = await Promise.all([1, 2, 3].map(() => bootstrapDefaultProject(s, config)))
    expect(results.map((r) => r.project.id)).toEqual([
      DEFAULT_PROJECT_ID,
      DEFAULT_PROJECT_ID,
      DEFAULT_PROJECT_ID,
    ])
    expect(await s.findApiKeyByHash(hashApiKey(A))).toBeDefined()
    expect(await s.findApiKeyByHash(hashApiKey(config.writeKey))).toBeDefined()
  })

  it('should revoke the earlier environment key of a role when the variable changes', async () => {
    const s = await open()
    await bootstrapDefaultProject(s, { adminKey: A })
    expect(await s.findApiKeyByHash(hashApiKey(A))).toBeDefined()
    await bootstrapDefaultProject(s, { adminKey: B })
    expect(await s.findApiKeyByHash(hashApiKey(B))).toBeDefined()
    expect(await s.findApiKeyByHash(hashApiKey(A))).toBeUndefined()
  })

  it('should record the keys it creates and revokes in the audit log', async () => {
    const s = await open()
    const log = new AuditLog(s.db)
    const audit = (
      entry: Parameters<AuditLog['record']>[0] extends infer E ? Omit<E, 'projectId' | 'actor'> : never,
    ) => log.record({ ...entry, projectId: DEFAULT_PROJECT_ID, actor: { kind: 'cli', user: 'ops' } })
    await bootstrapDefaultProject(s, { adminKey: A }, new Date(), audit) // write and read generated
    await bootstrapDefaultProject(s, { adminKey: B }, new Date(), audit) // A rotated out
    const { entries } = await log.list(DEFAULT_PROJECT_ID, {})
    const seen = entries.map((e) => `${e.action} ${String(e.details.role ?? e.details.name)}`).sort()
    expect(seen).toEqual([
      'key.created admin',
      'key.created admin',
      'key.created read',
      'key.created write',
      'key.revoked admin',
      'project.created Default',
    ])
    expect(entries.every((e) => e.details.by === 'server start-up' && e.actor === 'cli')).toBe(true)
  })

  it('should keep a key that was set again, and leave keys made through the API or CLI alone', async () => {
    const s = await open()
    await bootstrapDefaultProject(s, { adminKey: A })
    const manual = createApiKeyRecord(DEFAULT_PROJECT_ID, 'admin', { name: 'ops laptop' })
    const unnamed = createApiKeyRecord(DEFAULT_PROJECT_ID, 'admin')
    await s.saveApiKey(manual.record)
    await s.saveApiKey(unnamed.record)
    await bootstrapDefaultProject(s, { adminKey: A })
    expect(await s.findApiKeyByHash(hashApiKey(A))).toBeDefined()
    await bootstrapDefaultProject(s, { adminKey: B })
    expect(await s.findApiKeyByHash(manual.record.hash)).toBeDefined()
    expect(await s.findApiKeyByHash(unnamed.record.hash)).toBeDefined()
  })

  it('should only touch the role whose variable is set', async () => {
    const s = await open()
    const W = 'tly_w_env-write-key-0123456789'
    await bootstrapDefaultProject(s, { writeKey: W, adminKey: A })
    await bootstrapDefaultProject(s, { adminKey: B })
    expect(await s.findApiKeyByHash(hashApiKey(W))).toBeDefined()
    expect(await s.findApiKeyByHash(hashApiKey(A))).toBeUndefined()
  })

  it('should refuse a revoked key with a clear config_invalid error', async () => {
    const s = await open()
    await bootstrapDefaultProject(s, { adminKey: A })
    await bootstrapDefaultProject(s, { adminKey: B })
    const err = await bootstrapDefaultProject(s, { adminKey: A }).catch((e: unknown) => e)
    expect(err).toMatchObject({
      code: 'config_invalid',
      details: { variable: 'TALLY_ADMIN_KEY', reason: 'key_revoked' },
    })
    expect((err as Error).message).toMatch(/TALLY_ADMIN_KEY.*revoked.*new/)
    // B is still the admin key.
    expect(await s.findApiKeyByHash(hashApiKey(B))).toBeDefined()
  })

  it('should change nothing when one configured key is refused (it had rotated the others already)', async () => {
    const s = await open()
    const W1 = 'tly_w_first-write-key-0123456789'
    const W2 = 'tly_w_second-write-key-012345678'
    await bootstrapDefaultProject(s, { adminKey: A, writeKey: W1 })
    await bootstrapDefaultProject(s, { adminKey: B, writeKey: W1 }) // A rotated out: revoked
    const err = await bootstrapDefaultProject(s, { adminKey: A, writeKey: W2 }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'config_invalid', details: { reason: 'key_revoked' } })
    // W1 still works (nodes running with it keep ingesting), W2 was not stored.
    expect(await s.findApiKeyByHash(hashApiKey(W1))).toBeDefined()
    expect(await s.findApiKeyByHash(hashApiKey(W2))).toBeUndefined()
  })
})

describe('bootstrapDefaultProject without TALLY_*_KEY', () => {
  it('should generate one key per role when several nodes start at once on a fresh database', async () => {
    // A trial: four servers starting together stored 8 keys and printed three different admin secrets.
    const s = await open()
    const results = await Promise.all([1, 2, 3, 4].map(() => bootstrapDefaultProject(s, {})))
    const active = (await s.listApiKeys(DEFAULT_PROJECT_ID)).filter((k) => k.revokedAt === null)
    expect(active.map((k) => k.role).sort()).toEqual(['admin', 'read', 'write'])
    for (const role of ['write', 'read', 'admin'] as const) {
      const reported = results.map((r) => r.keys.find((k) => k.role === role)!)
      // Exactly one start shows the secret; the others report the same key as existing.
      expect(reported.filter((k) => k.source === 'generated')).toHaveLength(1)
      const secret = reported.find((k) => k.source === 'generated')!.secret!
      expect((await s.findApiKeyByHash(hashApiKey(secret)))?.role).toBe(role)
      expect(new Set(reported.map((k) => k.prefix)).size).toBe(1)
    }
  })

  it('should generate a new key for a role whose generated key was revoked', async () => {
    const s = await open()
    const first = await bootstrapDefaultProject(s, {})
    const admin = (await s.listApiKeys(DEFAULT_PROJECT_ID)).find((k) => k.role === 'admin')!
    await s.revokeApiKey(DEFAULT_PROJECT_ID, admin.id)
    const second = await bootstrapDefaultProject(s, {})
    const again = second.keys.find((k) => k.role === 'admin')!
    expect(again.source).toBe('generated')
    expect(again.secret).not.toBe(first.keys.find((k) => k.role === 'admin')!.secret)
    expect(second.keys.filter((k) => k.source === 'existing').map((k) => k.role)).toEqual(['write', 'read'])
  })
})
