import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCli, tempDatabase } from '../../../test/helpers/run-cli.js'
import { hashApiKey } from '../../http/auth/api-keys.js'
import { createStore } from '../../store/create-store.js'

describe('tally keys', () => {
  let db: ReturnType<typeof tempDatabase>
  beforeEach(() => {
    db = tempDatabase()
  })
  afterEach(() => db.remove())

  async function findByHash(secret: string) {
    const store = await createStore(db.url)
    try {
      return await store.findApiKeyByHash(hashApiKey(secret))
    } finally {
      await store.close()
    }
  }

  it('should create a key whose secret authenticates, list it without secrets, and revoke it', async () => {
    const created = await runCli(['keys', 'create', '--role', 'read', '--name', 'dashboards', '--db', db.url])
    expect(created.code).toBe(0)
    expect(created.stderr).toMatch(/shown only now/)
    const key = JSON.parse(created.stdout)
    expect(key).toMatchObject({ role: 'read', name: 'dashboards', projectId: 'default', revokedAt: null })
    expect(key.secret).toMatch(/^tly_r_/)
    expect(key).not.toHaveProperty('hash')
    expect(await findByHash(key.secret)).toMatchObject({ id: key.id, role: 'read', projectId: 'default' })

    const list = await runCli(['keys', 'list', '--db', db.url])
    const { keys } = JSON.parse(list.stdout)
    expect(keys).toEqual([expect.objectContaining({ id: key.id, prefix: key.secret.slice(0, 10) })])
    expect(list.stdout).not.toContain(key.secret)
    expect(list.stdout).not.toContain(hashApiKey(key.secret))

    const revoked = await runCli(['keys', 'revoke', key.id, '--db', db.url])
    expect(revoked.code).toBe(0)
    // stdout is the key as it now is, as for create and list (it printed nothing).
    expect(JSON.parse(revoked.stdout)).toMatchObject({ id: key.id, revokedAt: expect.any(String) })
    expect(await findByHash(key.secret)).toBeUndefined()
    expect(JSON.parse((await runCli(['keys', 'list', '--db', db.url])).stdout).keys).toEqual([])
    const all = JSON.parse((await runCli(['keys', 'list', '--all', '--db', db.url])).stdout).keys
    expect(all[0].revokedAt).toEqual(expect.any(String))
  })

  it('should answer exit 1 for an unknown key and exit 2 for bad usage', async () => {
    await runCli(['migrate', '--db', db.url]) // revoke needs an existing database
    const unknown = await runCli(['keys', 'revoke', 'no-such-id', '--db', db.url])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/no active key "no-such-id"/)
    expect((await runCli(['keys', 'create', '--db', db.url])).code).toBe(2)
    const role = await runCli(['keys', 'create', '--role', 'root', '--db', db.url])
    expect(role.code).toBe(2)
    expect(role.stderr).toMatch(/--role must be one of write, read, admin/)
    expect((await runCli(['keys', 'revoke', '--db', db.url])).code).toBe(2)
    expect((await runCli(['keys', '--db', db.url])).code).toBe(2)
  })
})
