import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import BetterSqlite3 from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiKeyResolver, hashApiKey } from '../../src/http/auth/api-keys.js'
import type { ApiKeyRole, EventStore } from '../../src/store/event-store.js'
import { KEYS } from '../integration/http-helpers.js'
import { type CapturedApp, createCapturedApp } from './helpers/captured-app.js'

/** Suite 5: every route × key state × project against docs/api.md "Keys and roles". */

const MATRIX_FILE = fileURLToPath(new URL('./access-matrix.md', import.meta.url))
const MARKER = 'own-project-secret-marker'
const GRANTS: Record<ApiKeyRole, ApiKeyRole[]> = {
  write: ['write'],
  read: ['read'],
  admin: ['write', 'read', 'admin'],
}
type Credential = 'none' | 'bad' | 'revoked' | ApiKeyRole
const CREDENTIALS: Credential[] = ['none', 'bad', 'revoked', 'write', 'read', 'admin']
type Scope = 'own' | 'other'

interface Target {
  url: string
  body?: unknown
}
interface RouteCase {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  path: string
  role: ApiKeyRole | 'public'
  /** Success status for a key of the project that owns the target. */
  ok: number
  /** Status for a key of ANOTHER project with the right role (404 when the target is the own project's). */
  other?: number
  segment?: boolean
  /** Builds the request against fresh own-project resources. */
  target: (t: Ctx) => Promise<Target>
}
interface Ctx {
  ownEvent(): Promise<string>
  ownKey(): Promise<string>
}

const EVENT = { type: 'track', name: 'Matrix', userId: MARKER, properties: { marker: MARKER } }
const stat = (p: string, query = '') => ({
  method: 'GET' as const,
  path: `/api/v1/stats/${p}`,
  role: 'read' as const,
  ok: 200,
  target: async () => ({ url: `/api/v1/stats/${p}${query}` }),
})
const segment = (call: string, body: unknown): RouteCase => ({
  method: 'POST',
  path: `/v1/${call}`,
  role: 'write',
  ok: 200,
  segment: true,
  target: async () => ({ url: `/v1/${call}`, body }),
})
const SEG_MSG = { type: 'track', event: 'Seg', userId: 'seg-user' }

const ROUTES: RouteCase[] = [
  { method: 'GET', path: '/healthz', role: 'public', ok: 200, target: async () => ({ url: '/healthz' }) },
  { method: 'GET', path: '/readyz', role: 'public', ok: 200, target: async () => ({ url: '/readyz' }) },
  { method: 'GET', path: '/metrics', role: 'public', ok: 200, target: async () => ({ url: '/metrics' }) },
  {
    method: 'GET',
    path: '/openapi.json',
    role: 'public',
    ok: 200,
    target: async () => ({ url: '/openapi.json' }),
  },
  {
    method: 'POST',
    path: '/api/v1/events',
    role: 'write',
    ok: 200,
    target: async () => ({
      url: '/api/v1/events',
      body: { events: [{ type: 'track', name: 'X', userId: 'w' }] },
    }),
  },
  segment('track', SEG_MSG),
  segment('page', { type: 'page', name: 'Home', userId: 'seg-user' }),
  segment('screen', { type: 'screen', name: 'Home', userId: 'seg-user' }),
  segment('identify', { type: 'identify', userId: 'seg-user', traits: { plan: 'pro' } }),
  segment('group', { type: 'group', userId: 'seg-user', groupId: 'g1' }),
  segment('alias', { type: 'alias', userId: 'seg-user', previousId: 'anon-1' }),
  segment('batch', { batch: [SEG_MSG] }),
  segment('import', { batch: [SEG_MSG] }),
  // Analytics.js 2.0's short paths.
  segment('t', SEG_MSG),
  segment('p', { type: 'page', name: 'Home', userId: 'seg-user' }),
  segment('s', { type: 'screen', name: 'Home', userId: 'seg-user' }),
  segment('i', { type: 'identify', userId: 'seg-user', traits: { plan: 'pro' } }),
  segment('g', { type: 'group', userId: 'seg-user', groupId: 'g1' }),
  segment('a', { type: 'alias', userId: 'seg-user', previousId: 'anon-1' }),
  segment('b', { batch: [SEG_MSG] }),
  {
    method: 'GET',
    path: '/api/v1/events',
    role: 'read',
    ok: 200,
    target: async () => ({ url: '/api/v1/events' }),
  },
  {
    method: 'POST',
    path: '/api/v1/events/query',
    role: 'read',
    ok: 200,
    target: async () => ({ url: '/api/v1/events/query', body: { limit: 10 } }),
  },
  {
    method: 'GET',
    path: '/api/v1/events/export',
    role: 'read',
    ok: 200,
    target: async () => ({ url: '/api/v1/events/export?format=csv' }),
  },
  {
    method: 'GET',
    path: '/api/v1/events/{id}',
    role: 'read',
    ok: 200,
    other: 404,
    target: async (c) => ({ url: `/api/v1/events/${await c.ownEvent()}` }),
  },
  {
    method: 'PATCH',
    path: '/api/v1/events/{id}',
    role: 'admin',
    ok: 200,
    other: 404,
    target: async (c) => ({ url: `/api/v1/events/${await c.ownEvent()}`, body: { tags: ['t'] } }),
  },
  {
    method: 'DELETE',
    path: '/api/v1/events/{id}',
    role: 'admin',
    ok: 204,
    other: 404,
    target: async (c) => ({ url: `/api/v1/events/${await c.ownEvent()}` }),
  },
  {
    method: 'POST',
    path: '/api/v1/events/delete',
    role: 'admin',
    ok: 200,
    target: async () => ({ url: '/api/v1/events/delete', body: { userId: 'nobody-at-all' } }),
  },
  {
    method: 'POST',
    path: '/api/v1/events/status',
    role: 'admin',
    ok: 200,
    target: async (c) => ({
      url: '/api/v1/events/status',
      body: { ids: [await c.ownEvent()], update: { attempts: 2 } },
    }),
  },
  {
    method: 'GET',
    path: '/api/v1/failed-events',
    role: 'read',
    ok: 200,
    target: async () => ({ url: '/api/v1/failed-events' }),
  },
  {
    method: 'POST',
    path: '/api/v1/failed-events/replay',
    role: 'admin',
    ok: 200,
    target: async () => ({ url: '/api/v1/failed-events/replay', body: { max: 1 } }),
  },
  {
    method: 'PUT',
    path: '/api/v1/schemas/{type}/{name}/{version}',
    role: 'admin',
    ok: 201,
    target: async () => {
      versions++
      return { url: `/api/v1/schemas/track/Matrix/1-0-${versions}`, body: { type: 'object' } }
    },
  },
  {
    method: 'GET',
    path: '/api/v1/schemas',
    role: 'read',
    ok: 200,
    target: async () => ({ url: '/api/v1/schemas' }),
  },
  {
    method: 'GET',
    path: '/api/v1/project',
    role: 'read',
    ok: 200,
    target: async () => ({ url: '/api/v1/project' }),
  },
  {
    method: 'PATCH',
    path: '/api/v1/project/settings',
    role: 'admin',
    ok: 200,
    target: async () => ({ url: '/api/v1/project/settings', body: { storeRawIp: false } }),
  },
  {
    method: 'GET',
    path: '/api/v1/keys',
    role: 'admin',
    ok: 200,
    target: async () => ({ url: '/api/v1/keys' }),
  },
  {
    method: 'POST',
    path: '/api/v1/keys',
    role: 'admin',
    ok: 201,
    target: async () => ({ url: '/api/v1/keys', body: { role: 'read', name: 'matrix' } }),
  },
  {
    method: 'DELETE',
    path: '/api/v1/keys/{id}',
    role: 'admin',
    ok: 204,
    other: 404,
    target: async (c) => ({ url: `/api/v1/keys/${await c.ownKey()}` }),
  },
  {
    method: 'POST',
    path: '/api/v1/processing/claim',
    role: 'admin',
    ok: 200,
    target: async () => ({ url: '/api/v1/processing/claim', body: { consumer: 'matrix', limit: 1 } }),
  },
  {
    method: 'POST',
    path: '/api/v1/processing/ack',
    role: 'admin',
    ok: 200,
    target: async (c) => ({
      url: '/api/v1/processing/ack',
      body: { consumer: 'matrix', ids: [await c.ownEvent()], status: 'processed' },
    }),
  },
  stat('overview'),
  stat('timeseries', '?unit=hour'),
  stat('performance'),
  stat('api-requests'),
  stat('interactions'),
  {
    method: 'GET',
    path: '/api/v1/audit',
    role: 'admin',
    ok: 200,
    target: async () => ({ url: '/api/v1/audit' }),
  },
]
let versions = 0

function expected(route: RouteCase, cred: Credential, scope: Scope): number {
  if (route.role === 'public') return route.ok
  if (cred === 'none' || cred === 'bad' || cred === 'revoked') return 401
  if (!GRANTS[cred].includes(route.role)) return 403
  return scope === 'own' ? route.ok : (route.other ?? route.ok)
}

describe('access-control matrix', () => {
  let t: CapturedApp
  const secrets: Record<Scope, Record<Credential, string | undefined>> = {
    own: { none: undefined, bad: 'tly_a_this-key-was-never-issued-0000', revoked: '', ...KEYS },
    other: {
      none: undefined,
      bad: 'tly_r_another-key-never-issued-00000',
      revoked: '',
      write: '',
      read: '',
      admin: '',
    },
  }
  const inject = (method: string, url: string, key?: string, body?: unknown, segmentAuth = false) =>
    t.app.server.inject({
      method: method as 'GET',
      url,
      headers:
        key === undefined
          ? {}
          : {
              authorization: segmentAuth
                ? `Basic ${Buffer.from(`${key}:`).toString('base64')}`
                : `Bearer ${key}`,
            },
      ...(body === undefined ? {} : { payload: body as object }),
    })
  const ctx: Ctx = {
    async ownEvent() {
      const res = await inject('POST', '/api/v1/events', KEYS.write, { events: [EVENT] })
      return res.json().results[0].id
    },
    async ownKey() {
      return (await inject('POST', '/api/v1/keys', KEYS.admin, { role: 'read' })).json().id
    },
  }

  beforeAll(async () => {
    t = await createCapturedApp()
    Object.assign(secrets.other, t.otherKeys)
    await inject('POST', '/api/v1/events', KEYS.write, { events: [EVENT, { type: 'track', userId: MARKER }] })
    await inject('PUT', '/api/v1/schemas/track/Marker/1-0-0', KEYS.admin, { type: 'object', title: MARKER })
    // A revoked admin key in each project.
    for (const [scope, admin, name] of [
      ['own', KEYS.admin, MARKER],
      ['other', t.otherKeys.admin, 'other-revoked'],
    ] as const) {
      const created = (await inject('POST', '/api/v1/keys', admin, { role: 'admin', name })).json()
      expect((await inject('DELETE', `/api/v1/keys/${created.id}`, admin)).statusCode).toBe(204)
      secrets[scope].revoked = created.secret
    }
  })
  afterAll(async () => {
    await t.close()
  })

  it('should cover every route the OpenAPI document lists', async () => {
    const doc = (await inject('GET', '/openapi.json')).json() as {
      paths: Record<string, Record<string, unknown>>
    }
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    )
    const covered = new Set(ROUTES.map((r) => `${r.method} ${r.path}`))
    expect(
      documented.filter((r) => r.startsWith('GET /') || r.includes(' /')).filter((r) => !covered.has(r)),
    ).toEqual([])
  })

  it('should give exactly the documented outcome in every cell, and never another project’s data', async () => {
    const rows: string[] = []
    const mismatches: string[] = []
    for (const route of ROUTES) {
      const cells: string[] = []
      for (const scope of ['own', 'other'] as const) {
        for (const cred of CREDENTIALS) {
          const target = await route.target(ctx)
          const res = await inject(route.method, target.url, secrets[scope][cred], target.body, route.segment)
          const want = expected(route, cred, scope)
          if (res.statusCode !== want)
            mismatches.push(`${route.method} ${route.path} ${scope}/${cred}: ${res.statusCode} ≠ ${want}`)
          if (res.statusCode >= 400) {
            const body = res.json()
            expect(body.error.statusCode).toBe(res.statusCode)
            expect(typeof body.error.code).toBe('string')
          }
          if (scope === 'other' && route.path !== '/metrics' && res.body.includes(MARKER)) {
            mismatches.push(`${route.method} ${route.path} other/${cred}: leaked own-project data`)
          }
          cells.push(String(res.statusCode))
        }
      }
      rows.push(`| \`${route.method} ${route.path}\` | ${route.role} | ${cells.join(' | ')} |`)
    }
    expect(mismatches).toEqual([])
    const head = CREDENTIALS.map((c) => `own ${c}`).concat(CREDENTIALS.map((c) => `other ${c}`))
    writeFileSync(
      MATRIX_FILE,
      [
        '# Access-control matrix',
        '',
        'Generated by `test/reliability/access-control.test.ts` from real requests (every cell is the status',
        'the server answered, and equals the outcome docs/api.md documents). "own" = a key of the project that',
        'owns the addressed resource; "other" = a key of another project. `revoked` = a revoked admin key;',
        '`bad` = a well-formed key that was never issued. 404 in an "other" column: the resource does not exist',
        'in that key’s project. No "other" response contained any of the own project’s data.',
        '',
        `| route | needs | ${head.join(' | ')} |`,
        `|---|---|${head.map(() => '---').join('|')}|`,
        ...rows,
        '',
      ].join('\n'),
    )
  })

  it('should never write a key secret to the logs, even at trace level', async () => {
    const logs = t.logs()
    expect(logs.length).toBeGreaterThan(1000) // per-request lines were written
    for (const scope of ['own', 'other'] as const) {
      for (const secret of Object.values(secrets[scope])) {
        if (secret) expect(logs.includes(secret), `${secret.slice(0, 8)}… in logs`).toBe(false)
      }
    }
    expect(logs.toLowerCase()).not.toContain('bearer ')
    expect(logs).not.toContain('Basic ')
  })

  it('should store keys only as SHA-256 hashes', async () => {
    const db = new BetterSqlite3(`${t.dir}/tally.db`, { readonly: true })
    try {
      const dump = JSON.stringify(db.prepare('select * from api_keys').all())
      for (const secret of [...Object.values(KEYS), ...Object.values(t.otherKeys)]) {
        expect(dump).not.toContain(secret)
        expect(dump).toContain(createHash('sha256').update(secret).digest('hex'))
      }
      const audit = JSON.stringify(db.prepare('select * from audit_log').all())
      for (const s of Object.values(secrets.own)) if (s) expect(audit).not.toContain(s)
    } finally {
      db.close()
    }
  })

  it('should compare the presented key with the stored hash in constant time, never loosely', async () => {
    // A store that "finds" a record whose hash differs in the last digit (as a collating or truncating
    // lookup could): the resolver's own timingSafeEqual comparison must refuse it.
    const secret = 'tly_a_constant-time-check-000000001'
    const real = hashApiKey(secret)
    const near = real.slice(0, -1) + (real.endsWith('0') ? '1' : '0')
    const store = {
      findApiKeyByHash: async () => ({
        id: 'k',
        projectId: 'p',
        role: 'admin',
        hash: near,
        prefix: 'tly_a_cons',
        name: null,
        createdAt: new Date().toISOString(),
        revokedAt: null,
      }),
    } as unknown as EventStore
    expect(await new ApiKeyResolver(store).resolve(secret)).toBeUndefined()
  })
})
