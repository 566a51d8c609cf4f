import { Type } from '@sinclair/typebox'
import { AppError } from '../../errors/app-error.js'
import type { RouteDeps, TallyServer } from '../build-server.js'
import { errorResponses } from './common-schemas.js'

const NO_LIMIT = { rateLimit: false }

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
      try {
        await deps.store.ping()
      } catch (err) {
        throw new AppError('store_unavailable', 'The database is not reachable or not migrated', {
          cause: err,
          retryAfterSeconds: 5,
        })
      }
      return { status: 'ready' as const, database: deps.store.dialect }
    },
  )
}
