import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { registerErrorHandlers } from '../error-handler.js'
import { isReservedPath, registerDashboard } from './dashboard.js'

async function serverFor(root: string, withApi = true): Promise<FastifyInstance> {
  const app = Fastify()
  registerErrorHandlers(app)
  if (withApi) app.get('/api/v1/project', async () => ({ id: 'default' }))
  app.get('/healthz', async () => ({ ok: true }))
  await registerDashboard(app, { root })
  return app
}

describe('registerDashboard', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tally-dash-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const build = () => {
    mkdirSync(join(dir, 'assets'))
    writeFileSync(join(dir, 'index.html'), '<!doctype html><div id="app"></div>')
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)')
    writeFileSync(join(dir, 'assets', 'index-abc123.css'), 'body{}')
    writeFileSync(join(dir, 'favicon.svg'), '<svg/>')
  }

  it('should serve index.html with no-cache and a CSP at / and at client-side routes', async () => {
    build()
    const app = await serverFor(dir)
    for (const url of ['/', '/events', '/failed?x=1', '/schemas/']) {
      const res = await app.inject({ url })
      expect(res.statusCode, url).toBe(200)
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
      expect(res.headers['cache-control']).toBe('no-cache')
      expect(res.headers['content-security-policy']).toContain("default-src 'self'")
      expect(res.body).toContain('<div id="app">')
    }
  })

  it('should serve hashed assets as immutable with their content type, and answer 304 to a matching ETag', async () => {
    build()
    const app = await serverFor(dir)
    const js = await app.inject({ url: '/assets/index-abc123.js' })
    expect(js.statusCode).toBe(200)
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect((await app.inject({ url: '/assets/index-abc123.css' })).headers['content-type']).toBe(
      'text/css; charset=utf-8',
    )
    expect((await app.inject({ url: '/favicon.svg' })).headers['content-type']).toBe('image/svg+xml')
    const again = await app.inject({
      url: '/assets/index-abc123.js',
      headers: { 'if-none-match': js.headers.etag },
    })
    expect(again.statusCode).toBe(304)
    expect(again.body).toBe('')
  })

  it('should answer not_found, not the app shell, for a missing asset', async () => {
    build()
    const app = await serverFor(dir)
    for (const url of ['/assets/index-old999.js', '/robots.txt']) {
      const res = await app.inject({ url })
      expect(res.statusCode, url).toBe(404)
      expect(res.json().error.code).toBe('not_found')
    }
  })

  it('should never shadow the API or the operations routes, even for unknown paths under them', async () => {
    build()
    const app = await serverFor(dir)
    expect((await app.inject({ url: '/api/v1/project' })).json()).toEqual({ id: 'default' })
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ ok: true })
    for (const url of [
      '/api',
      '/api/v1/nope',
      '/v1/nope',
      '/docs',
      '/docs/x',
      '/openapi.json',
      '/metrics',
      '/readyz',
    ]) {
      const res = await app.inject({ url })
      expect(res.statusCode, url).toBe(404)
      expect(res.json().error.code, url).toBe('not_found')
    }
  })

  it('should explain how to build the dashboard when dashboard/dist is missing, and pick it up once built', async () => {
    const app = await serverFor(join(dir, 'absent'))
    const res = await app.inject({ url: '/' })
    expect(res.statusCode).toBe(404)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.body).toContain('npm run build:dashboard')
    expect((await app.inject({ url: '/assets/x.js' })).json().error.code).toBe('not_found')

    const app2 = await serverFor(dir)
    expect((await app2.inject({ url: '/' })).statusCode).toBe(404)
    build()
    expect((await app2.inject({ url: '/' })).statusCode).toBe(200)
  })
})

describe('isReservedPath', () => {
  it('should reserve whole path segments only', () => {
    expect(isReservedPath('/api')).toBe(true)
    expect(isReservedPath('/api/v1/events')).toBe(true)
    expect(isReservedPath('/metrics')).toBe(true)
    expect(isReservedPath('/api-requests')).toBe(false)
    expect(isReservedPath('/v1x')).toBe(false)
    expect(isReservedPath('/events')).toBe(false)
  })

  it('should reserve them in any case (a mistyped /API/V1/EVENTS got the app page with 200)', () => {
    expect(isReservedPath('/API/V1/EVENTS')).toBe(true)
    expect(isReservedPath('/Api/v1/stats/overview')).toBe(true)
    expect(isReservedPath('/Events')).toBe(false)
  })
})
