import { Type } from '@sinclair/typebox'
import { AppError } from '../../errors/app-error.js'
import type { RouteDeps, TallyServer } from '../build-server.js'
import { errorResponses } from './common-schemas.js'

const NO_LIMIT = { rateLimit: false }
/**
 * Longest /readyz waits for the database. Probes give up after a second or a few (Kubernetes: 1 s by
 * default); a database that stopped answering must read as not ready, not as a probe that timed out.
 */
export const READY_TIMEOUT_MS = 2_000

/** `/healthz` (the process answers) and `/readyz` (the database answers and is migrated). */
export function registerHealthRoutes(app: TallyServer, deps: RouteDeps): void {
  app.get(
    '/healthz',
    {
      config: NO_LIMIT,
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async function healthz() {
      return { status: 'ok' as const }
    },
  )
  app.get(
    '/readyz',
    {
      config: NO_LIMIT,
      schema: {
        tags: ['operations'],
        summary: 'Readiness: the database is reachable and migrated',
        response: {
          200: Type.Object({ status: Type.Literal('ready'), database: Type.String() }),
          // The database (or, on a queue node, NATS) is unreachable, or migrations are pending.
          ...errorResponses(503),
        },
      },
    },
    async function readyz() {
      let timer: NodeJS.Timeout | undefined
      const silent = new Promise<'silent'>((resolve) => {
        timer = setTimeout(() => resolve('silent'), READY_TIMEOUT_MS)
      })
      let answer: unknown
      try {
        answer = await Promise.race([deps.store.ping(), silent])
      } catch (err) {
        // Whatever the store says (unreachable, not migrated, closed): not ready. An AppError it throws
        // (a closed store's `internal`) is no reason for a 500 here.
        throw new AppError('store_unavailable', 'The database is not reachable or not migrated', {
          cause: err,
          retryAfterSeconds: 5,
        })
      } finally {
        clearTimeout(timer)
      }
      if (answer === 'silent') {
        throw new AppError('store_unavailable', `The database did not answer within ${READY_TIMEOUT_MS} ms`, {
          retryAfterSeconds: 5,
        })
      }
      return { status: 'ready' as const, database: deps.store.dialect }
    },
  )
}
