import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { registerErrorHandlers } from '../error-handler.js'
import { registerLoadShedding } from './load-shedding.js'

describe('registerLoadShedding', () => {
  it('should answer 503 overloaded + Retry-After beyond maxInFlight, and admit again once requests finish', async () => {
    const app = Fastify()
    registerErrorHandlers(app)
    let release: () => void = () => {}
    const gate = new Promise<void>((r) => {
      release = r
    })
    await app.register(async (scope) => {
      registerLoadShedding(scope, { maxInFlight: 2, maxEventLoopDelayMs: 0 })
      scope.get('/slow', async () => {
        await gate
        return { ok: true }
      })
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }
    try {
      const slow = [1, 2].map(() => fetch(`http://127.0.0.1:${port}/slow`))
      await new Promise((r) => setTimeout(r, 100))
      const refused = await fetch(`http://127.0.0.1:${port}/slow`)
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).toBe('1')
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('overloaded')
      release()
      expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200])
      expect((await fetch(`http://127.0.0.1:${port}/slow`)).status).toBe(200)
    } finally {
      await app.close()
    }
  })
})
