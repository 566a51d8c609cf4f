import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/run-cli.js'
import { bearer, createTestApp, KEYS, type TestApp, trackEvent } from '../integration/http-helpers.js'

/** Suite 6: every admin action leaves who (key id), what and when, readable by admins (API and CLI). */
describe('audit trail', () => {
  let t: TestApp
  beforeEach(async () => {
    t = await createTestApp()
  })
  afterEach(async () => {
    await t.close()
  })

  const inject = (method: string, url: string, key: string, payload?: unknown) =>
    t.app.server.inject({ method: method as 'GET', url, headers: bearer(key), payload: payload as object })

  async function adminKeyId(): Promise<string> {
    const keys = (await inject('GET', '/api/v1/keys', KEYS.admin)).json().keys as {
      id: string
      role: string
    }[]
    return keys.find((k) => k.role === 'admin' && k)?.id as string
  }

  it('should record each admin action with the acting key id, what and when', async () => {
    const before = new Date().toISOString()
    const actor = await adminKeyId()
    const ingest = await inject('POST', '/api/v1/events', KEYS.write, {
      events: [trackEvent({ userId: 'gdpr-user' }), trackEvent({ userId: 'u2' }), { type: 'track' }],
    })
    const eventId = ingest.json().results[1].id as string

    const created = await inject('POST', '/api/v1/keys', KEYS.admin, { role: 'read', name: 'ci' })
    expect(created.statusCode).toBe(201)
    const newKey = created.json() as { id: string; secret: string }
    expect((await inject('DELETE', `/api/v1/keys/${newKey.id}`, KEYS.admin)).statusCode).toBe(204)
    expect(
      (await inject('PUT', '/api/v1/schemas/track/Signed%20Up/1-0-0', KEYS.admin, { type: 'object' }))
        .statusCode,
    ).toBe(201)
    expect(
      (await inject('PATCH', '/api/v1/project/settings', KEYS.admin, { enforcement: 'warn' })).statusCode,
    ).toBe(200)
    expect((await inject('PATCH', `/api/v1/events/${eventId}`, KEYS.admin, { tags: ['x'] })).statusCode).toBe(
      200,
    )
    expect(
      (await inject('POST', '/api/v1/events/status', KEYS.admin, { ids: [eventId], update: { attempts: 1 } }))
        .statusCode,
    ).toBe(200)
    expect((await inject('DELETE', `/api/v1/events/${eventId}`, KEYS.admin)).statusCode).toBe(204)
    const erased = await inject('POST', '/api/v1/events/delete', KEYS.admin, { userId: 'gdpr-user' })
    expect(erased.json()).toEqual({ events: 1, failedEvents: 0 })
    expect((await inject('POST', '/api/v1/failed-events/replay', KEYS.admin, {})).statusCode).toBe(200)
    // A refused action is not an action: nothing recorded for it.
    expect((await inject('DELETE', '/api/v1/keys/no-such-key', KEYS.admin)).statusCode).toBe(404)
    expect((await inject('POST', '/api/v1/keys', KEYS.read, { role: 'admin' })).statusCode).toBe(403)

    const res = await inject('GET', '/api/v1/audit?limit=50', KEYS.admin)
    expect(res.statusCode).toBe(200)
    const all = res.json().entries as {
      action: string
      actorKeyId: string
      actor: string
      target: string | null
      at: string
      details: Record<string, unknown>
    }[]
    // The server's own start-up (the test keys set from the environment) is recorded too.
    const startup = all.filter((e) => e.details.by === 'server start-up')
    expect(startup.map((e) => e.action).sort()).toEqual([
      'key.created',
      'key.created',
      'key.created',
      'project.created',
    ])
    const entries = all.filter((e) => e.details.by !== 'server start-up')
    expect(entries.map((e) => e.action).reverse()).toEqual([
      'key.created',
      'key.revoked',
      'schema.registered',
      'settings.changed',
      'event.updated',
      'events.status_updated',
      'event.deleted',
      'events.erased',
      'failed_events.replayed',
    ])
    for (const e of entries) {
      expect(e.actor).toBe('key')
      expect(e.actorKeyId).toBe(actor)
      expect(e.at >= before && e.at <= new Date().toISOString()).toBe(true)
    }
    const byAction = Object.fromEntries(entries.map((e) => [e.action, e]))
    expect(byAction['key.created'].target).toBe(newKey.id)
    expect(byAction['key.created'].details).toMatchObject({ role: 'read', name: 'ci' })
    expect(JSON.stringify(entries)).not.toContain(newKey.secret) // never a secret in the log
    expect(byAction['key.revoked'].target).toBe(newKey.id)
    expect(byAction['schema.registered'].target).toBe('track/Signed Up/1-0-0')
    expect(byAction['settings.changed'].details).toEqual({ changed: { enforcement: 'warn' } })
    expect(byAction['event.deleted'].target).toBe(eventId)
    expect(byAction['events.erased']).toMatchObject({ target: 'gdpr-user', details: { events: 1 } })
    expect(byAction['failed_events.replayed'].details).toMatchObject({ examined: 1, stillFailing: 1 })

    // Paging and filtering.
    const page1 = (await inject('GET', '/api/v1/audit?limit=4', KEYS.admin)).json()
    const page2 = (await inject('GET', `/api/v1/audit?limit=4&cursor=${page1.nextCursor}`, KEYS.admin)).json()
    expect([...page1.entries, ...page2.entries].map((e: { id: string }) => e.id)).toEqual(
      entries.slice(0, 8).map((e) => (e as unknown as { id: string }).id),
    )
    const only = (await inject('GET', '/api/v1/audit?action=key.revoked', KEYS.admin)).json()
    expect(only.entries).toHaveLength(1)
    expect((await inject('GET', '/api/v1/audit?cursor=bm9wZQ', KEYS.admin)).json().error.code).toBe(
      'invalid_cursor',
    )
  })

  it('should show the audit log to admins of the project only', async () => {
    await inject('POST', '/api/v1/keys', KEYS.admin, { role: 'write' })
    for (const key of [KEYS.read, KEYS.write]) {
      expect((await inject('GET', '/api/v1/audit', key)).statusCode).toBe(403)
    }
    expect((await inject('GET', '/api/v1/audit', 'tly_a_nope-nope-nope-nope')).statusCode).toBe(401)
    const other = await inject('GET', '/api/v1/audit', t.otherKeys.admin)
    expect(other.json()).toEqual({ entries: [], nextCursor: null })
  })

  it('should print the log with `tally audit` and record `tally purge` as a CLI action', async () => {
    await inject('POST', '/api/v1/keys', KEYS.admin, { role: 'write', name: 'web' })
    await t.app.close()
    const db = `sqlite:${t.dir}/tally.db`
    const purge = await runCli(['purge', '--older-than', '30d', '--db', db], { env: { USER: 'ops' } })
    expect(purge.code).toBe(0)
    const out = await runCli(['audit', '--db', db])
    expect(out.code).toBe(0)
    const page = JSON.parse(out.stdout)
    const actions = page.entries
      .filter((e: { details: { by?: string } }) => e.details.by !== 'server start-up')
      .map((e: { action: string }) => e.action)
    expect(actions).toEqual(['events.purged', 'key.created'])
    expect(page.entries[0]).toMatchObject({
      actor: 'cli',
      actorKeyId: null,
      details: { user: 'ops', events: 0 },
    })
    const filtered = JSON.parse((await runCli(['audit', '--db', db, '--action', 'key.created'])).stdout)
    expect(
      filtered.entries.filter((e: { details: { by?: string } }) => e.details.by !== 'server start-up'),
    ).toHaveLength(1)
    expect((await runCli(['audit', '--db', db, '--action', 'nope'])).code).toBe(2)
    expect((await runCli(['audit', '--db', db, '--limit', '0'])).code).toBe(2)
  })
})
