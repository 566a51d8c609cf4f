import { connect } from 'node:net'
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

  it('should not count a request whose body is still arriving (64 trickled bodies kept every route at 503)', async () => {
    const app = Fastify()
    registerErrorHandlers(app)
    await app.register(async (scope) => {
      registerLoadShedding(scope, { maxInFlight: 4, maxEventLoopDelayMs: 0 })
      scope.post('/ingest', async () => ({ ok: true }))
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }
    const sockets = Array.from({ length: 10 }, () => {
      const socket = connect(port, '127.0.0.1')
      socket.on('error', () => {})
      socket.write(
        'POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
      )
      return socket
    })
    try {
      await new Promise((r) => setTimeout(r, 200)) // the ten stalled bodies are in
      const res = await fetch(`http://127.0.0.1:${port}/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      })
      expect(res.status).toBe(200)
    } finally {
      for (const s of sockets) s.destroy()
      await app.close()
    }
  })
})
