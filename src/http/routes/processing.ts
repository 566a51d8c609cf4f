import { Type } from '@sinclair/typebox'
import { AnalyticsEventSchema } from '../../schema/analytics-event.js'
import { EVENT_TYPES } from '../../schema/event-types.js'
import type { RouteDeps, TallyServer } from '../build-server.js'
import { authOf, requireBearer } from '../plugins/auth.js'
import { BEARER, errorResponses, inline } from './common-schemas.js'

/** One limit for a consumer's name wherever it is given (claim accepted 128 characters, ack 200). */
const MAX_CONSUMER_LENGTH = 200

/** Claim / ack for downstream consumers (admin keys: claiming changes event status). */
export function registerProcessingRoutes(app: TallyServer, deps: RouteDeps): void {
  const admin = requireBearer(deps.keys, 'admin')
  app.post(
    '/api/v1/processing/claim',
    {
      onRequest: admin,
      schema: {
        tags: ['processing'],
        summary: 'Claim received (or lease-expired) events, oldest first',
        security: BEARER,
        body: Type.Object(
          {
            consumer: Type.String({
              minLength: 1,
              maxLength: MAX_CONSUMER_LENGTH,
              description: 'Who holds the lease.',
            }),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
            leaseMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 60_000 })),
            types: Type.Optional(
              // At least one: `[]` claimed every type, where an empty `in` list in a filter matches nothing.
              Type.Array(Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))), {
                minItems: 1,
                maxItems: 16,
                description: 'Only events of these types (omit for all).',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ events: Type.Array(inline(AnalyticsEventSchema)) }),
          ...errorResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async function claim(request) {
      const { consumer, limit = 100, leaseMs = 60_000, types } = request.body
      const events = await deps.store.claim(authOf(request).projectId, { consumer, limit, leaseMs, types })
      return { events }
    },
  )
  app.post(
    '/api/v1/processing/ack',
    {
      onRequest: admin,
      schema: {
        tags: ['processing'],
        summary: 'Finish claimed events: processed, or failed with an error',
        security: BEARER,
        body: Type.Object(
          {
            consumer: Type.String({
              minLength: 1,
              maxLength: MAX_CONSUMER_LENGTH,
              description: 'The consumer that claimed the events: only events it still holds are finished.',
            }),
            ids: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 1000 }),
            status: Type.Union([Type.Literal('processed'), Type.Literal('failed')]),
            error: Type.Optional(Type.String({ maxLength: 4096 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ updated: Type.Integer() }),
          ...errorResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async function ack(request) {
      const { consumer, ids, status, error } = request.body
      const updated = await deps.store.ack(authOf(request).projectId, { consumer, ids, status, error })
      return { updated }
    },
  )
}
