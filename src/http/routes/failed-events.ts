import { Type } from '@sinclair/typebox'
import { ISSUE_CODES } from '../../errors/issue-codes.js'
import { FailedEventSchema } from '../../schema/failed-event.js'
import type { RouteDeps, TallyServer } from '../build-server.js'
import { authOf, requireBearer } from '../plugins/auth.js'
import { keepConnectionWhileWorking } from '../plugins/long-work.js'
import { recordAudit } from './audit.js'
import { BEARER, errorResponses, inline } from './common-schemas.js'

const FailedEventFilterSchema = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Received at or after.' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Received before.' })),
    code: Type.Optional(
      Type.Union(
        ISSUE_CODES.map((c) => Type.Literal(c)),
        { description: 'Only events with an issue of this code (docs/errors.md).' },
      ),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
)

/** Listing rejected events, and replaying them once the plan or the client is fixed. */
export function registerFailedEventRoutes(app: TallyServer, deps: RouteDeps): void {
  app.get(
    '/api/v1/failed-events',
    {
      onRequest: requireBearer(deps.keys, 'read'),
      schema: {
        tags: ['failed-events'],
        summary: 'List rejected events with their errors',
        security: BEARER,
        querystring: FailedEventFilterSchema,
        response: {
          200: Type.Object({
            failedEvents: Type.Array(inline(FailedEventSchema)),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async function listFailedEvents(request) {
      return deps.store.listFailedEvents(authOf(request).projectId, request.query)
    },
  )

  const replay = deps.replayFailedEvents
  if (!replay) return
  app.post(
    '/api/v1/failed-events/replay',
    {
      onRequest: requireBearer(deps.keys, 'admin'),
      preHandler: keepConnectionWhileWorking,
      schema: {
        tags: ['failed-events'],
        summary: 'Re-validate failed events; those that pass now are stored',
        security: BEARER,
        body: Type.Optional(
          Type.Object(
            {
              from: FailedEventFilterSchema.properties.from,
              to: FailedEventFilterSchema.properties.to,
              code: FailedEventFilterSchema.properties.code,
              max: Type.Optional(
                Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Most to examine.' }),
              ),
            },
            { additionalProperties: false },
          ),
        ),
        response: {
          200: Type.Object({
            examined: Type.Integer(),
            replayed: Type.Integer(),
            duplicates: Type.Integer(),
            stillFailing: Type.Integer(),
            inProgress: Type.Integer({
              description: 'Valid now, but held by another replay running at the same time (it stores them).',
            }),
          }),
          ...errorResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async function replayFailedEvents(request) {
      const report = await replay(authOf(request).projectId, request.body ?? {})
      await recordAudit(deps, request, 'failed_events.replayed', null, {
        filter: request.body ?? {},
        ...report,
      })
      return report
    },
  )
}
