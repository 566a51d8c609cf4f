import { Readable } from 'node:stream'
import { type Static, Type } from '@sinclair/typebox'
import { Ajv } from 'ajv'
import type { FastifyRequest } from 'fastify'
import { AppError } from '../../errors/app-error.js'
import { AnalyticsEventSchema } from '../../schema/analytics-event.js'
import { type EventQuery, EventQuerySchema, PropertyPredicateSchema } from '../../schema/event-query.js'
import { EventUpdateSchema } from '../../schema/event-update.js'
import type { RouteDeps, TallyServer } from '../build-server.js'
import { authOf, requireBearer } from '../plugins/auth.js'
import { keepConnectionWhileWorking } from '../plugins/long-work.js'
import { recordAudit } from './audit.js'
import { BEARER, errorResponses, inline } from './common-schemas.js'
import { eventsToCsv, eventsToNdjson } from './export-format.js'

const { where: _where, ...queryFields } = inline(EventQuerySchema).properties

/** EventQuery as a query string: lists as repeated (or, for types/status, comma-separated) params, `where` as JSON. */
export const EventQueryStringSchema = Type.Object(
  {
    ...queryFields,
    where: Type.Optional(
      Type.String({ maxLength: 16_384, description: 'JSON array of property predicates, URL-encoded.' }),
    ),
  },
  { additionalProperties: false },
)
type EventQueryString = Static<typeof EventQueryStringSchema>

// An export is every matching event: no page size, no cursor (both refused, rather than silently ignored).
const { limit: _limit, cursor: _cursor, ...exportFilters } = EventQueryStringSchema.properties
const ExportQuerySchema = Type.Object(
  {
    ...exportFilters,
    format: Type.Optional(Type.Union([Type.Literal('ndjson'), Type.Literal('csv')], { default: 'ndjson' })),
  },
  { additionalProperties: false },
)

const validateWhere = new Ajv({ allErrors: true, strict: false }).compile(
  Type.Array(inline(PropertyPredicateSchema), { maxItems: 20 }),
)

const COMMA_LISTS = ['types', 'status'] as const

/** Splits `types=track,page` into a list before validation (repeated params arrive as arrays already). */
async function splitCommaLists(request: FastifyRequest): Promise<void> {
  const query = request.query as Record<string, unknown>
  for (const key of COMMA_LISTS) {
    const value = query[key]
    if (typeof value === 'string' && value.includes(',')) query[key] = value.split(',').filter(Boolean)
    if (Array.isArray(value)) query[key] = value.flatMap((v) => (typeof v === 'string' ? v.split(',') : [v]))
  }
}

/** The EventQuery a query string stands for; `where` parsed from JSON and checked. */
export function queryFromQueryString(qs: EventQueryString): EventQuery {
  const { where, ...rest } = qs
  if (where === undefined) return rest as EventQuery
  let parsed: unknown
  try {
    parsed = JSON.parse(where)
  } catch {
    throw new AppError('validation_failed', 'querystring where must be a JSON array of predicates', {
      details: [{ in: 'querystring', path: '/where', keyword: 'json', message: 'is not valid JSON' }],
    })
  }
  if (!validateWhere(parsed)) {
    const details = (validateWhere.errors ?? []).map((e) => ({
      in: 'querystring',
      path: `/where${e.instancePath}`,
      keyword: e.keyword,
      message: e.message ?? 'is invalid',
    }))
    throw new AppError('validation_failed', `querystring ${details[0]?.path} ${details[0]?.message}`, {
      details,
    })
  }
  return { ...rest, where: parsed } as EventQuery
}

const EventPageSchema = Type.Object({
  events: Type.Array(inline(AnalyticsEventSchema)),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
})
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })
const READ_ERRORS = errorResponses(400, 401, 403, 429, 503)

/** Reading, exporting, updating and deleting a project's events. */
export function registerEventRoutes(app: TallyServer, deps: RouteDeps): void {
  const { store } = deps
  const read = requireBearer(deps.keys, 'read')
  const admin = requireBearer(deps.keys, 'admin')

  app.get(
    '/api/v1/events',
    {
      onRequest: read,
      preValidation: splitCommaLists,
      schema: {
        tags: ['events'],
        summary: 'Query events (query-string EventQuery)',
        security: BEARER,
        querystring: EventQueryStringSchema,
        response: { 200: EventPageSchema, ...READ_ERRORS },
      },
    },
    async function listEvents(request) {
      return store.queryEvents(authOf(request).projectId, queryFromQueryString(request.query))
    },
  )

  app.post(
    '/api/v1/events/query',
    {
      onRequest: read,
      schema: {
        tags: ['events'],
        summary: 'Query events (JSON EventQuery)',
        security: BEARER,
        body: inline(EventQuerySchema),
        response: { 200: EventPageSchema, ...READ_ERRORS },
      },
    },
    async function queryEvents(request) {
      return store.queryEvents(authOf(request).projectId, request.body)
    },
  )

  app.get(
    '/api/v1/events/export',
    {
      onRequest: read,
      preValidation: splitCommaLists,
      schema: {
        tags: ['events'],
        summary: 'Export every matching event as NDJSON or CSV (streamed)',
        security: BEARER,
        querystring: ExportQuerySchema,
        response: {
          200: {
            description: 'NDJSON (one event per line; the default) or CSV, streamed.',
            content: {
              'application/x-ndjson': { schema: Type.String() },
              'text/csv': { schema: Type.String() },
            },
          } as never,
          ...READ_ERRORS,
        },
      },
    },
    async function exportEvents(request, reply) {
      const { format, ...qs } = request.query
      const events = store.exportEvents(authOf(request).projectId, queryFromQueryString(qs))
      const csv = format === 'csv'
      reply
        .type(csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="events.${csv ? 'csv' : 'ndjson'}"`)
      // The serializer is bypassed for streams; each chunk is one or more lines.
      return reply.send(Readable.from(csv ? eventsToCsv(events) : eventsToNdjson(events)) as never)
    },
  )

  app.get(
    '/api/v1/events/:id',
    {
      onRequest: read,
      schema: {
        tags: ['events'],
        summary: 'Get one event',
        security: BEARER,
        params: IdParams,
        response: { 200: inline(AnalyticsEventSchema), ...errorResponses(401, 403, 404, 429, 503) },
      },
    },
    async function getEvent(request) {
      const event = await store.getEvent(authOf(request).projectId, request.params.id)
      if (!event) throw new AppError('not_found', `No event ${request.params.id}`)
      return event
    },
  )

  app.patch(
    '/api/v1/events/:id',
    {
      onRequest: admin,
      schema: {
        tags: ['events'],
        summary: 'Update processing fields of one event (status, error, attempts, tags)',
        security: BEARER,
        params: IdParams,
        body: inline(EventUpdateSchema),
        response: { 200: inline(AnalyticsEventSchema), ...errorResponses(400, 401, 403, 404, 429, 503) },
      },
    },
    async function updateEvent(request) {
      const event = await store.updateEvent(authOf(request).projectId, request.params.id, request.body)
      if (!event) throw new AppError('not_found', `No event ${request.params.id}`)
      await recordAudit(deps, request, 'event.updated', request.params.id, { update: request.body })
      return event
    },
  )

  app.delete(
    '/api/v1/events/:id',
    {
      onRequest: admin,
      schema: {
        tags: ['events'],
        summary: 'Delete one event',
        security: BEARER,
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 429, 503) },
      },
    },
    async function deleteEvent(request, reply) {
      const deleted = await store.deleteEvent(authOf(request).projectId, request.params.id)
      if (!deleted) throw new AppError('not_found', `No event ${request.params.id}`)
      await recordAudit(deps, request, 'event.deleted', request.params.id)
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/api/v1/events/delete',
    {
      onRequest: admin,
      preHandler: keepConnectionWhileWorking,
      schema: {
        tags: ['events'],
        summary: 'Erase everything of a user (GDPR): events and failed events by userId and/or anonymousId',
        security: BEARER,
        body: Type.Object(
          {
            userId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
            anonymousId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: {
          200: Type.Object({ events: Type.Integer(), failedEvents: Type.Integer() }),
          ...errorResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async function deleteWhere(request) {
      const erased = await store.deleteWhere(authOf(request).projectId, request.body)
      const subject = request.body.userId ?? request.body.anonymousId ?? null
      await recordAudit(deps, request, 'events.erased', subject, { ...request.body, ...erased })
      return erased
    },
  )

  app.post(
    '/api/v1/events/status',
    {
      onRequest: admin,
      schema: {
        tags: ['events'],
        summary: 'Update processing fields of many events',
        security: BEARER,
        body: Type.Object(
          {
            ids: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 1000 }),
            update: inline(EventUpdateSchema),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ updated: Type.Integer() }),
          ...errorResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async function updateStatuses(request) {
      const updated = await store.updateEvents(
        authOf(request).projectId,
        request.body.ids,
        request.body.update,
      )
      await recordAudit(deps, request, 'events.status_updated', null, {
        ids: request.body.ids.length,
        update: request.body.update,
        updated,
      })
      return { updated }
    },
  )
}
