import { Type } from '@sinclair/typebox'
import { EVENT_TYPES, type EventType } from '../../schema/event-types.js'
import { TrackingPlan } from '../../tracking-plan/tracking-plan.js'
import type { RouteDeps, TallyServer } from '../build-server.js'
import { authOf, requireBearer } from '../plugins/auth.js'
import { recordAudit } from './audit.js'
import { BEARER, errorResponses } from './common-schemas.js'

const StoredSchemaSchema = Type.Object({
  eventType: Type.String(),
  eventName: Type.String(),
  version: Type.String({ description: 'SchemaVer MODEL-REVISION-ADDITION.' }),
  jsonSchema: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Type.String({ format: 'date-time' }),
})

const ListedSchemaSchema = Type.Composite([
  StoredSchemaSchema,
  Type.Object({
    unusable: Type.Optional(
      Type.String({
        description:
          'Present when a stored version no longer compiles (saved before a check that now refuses it): why. Its events get a `schema_violation` finding naming it; register a fixed version, then replay.',
      }),
    ),
  }),
])

/** The tracking plan: register schema versions, list them. */
export function registerSchemaRoutes(app: TallyServer, deps: RouteDeps): void {
  const { store } = deps

  app.put(
    '/api/v1/schemas/:type/:name/:version',
    {
      onRequest: requireBearer(deps.keys, 'admin'),
      schema: {
        tags: ['project'],
        summary: 'Register a tracking-plan schema version',
        description:
          'The body is a JSON Schema for the properties (traits for identify/group) of events of this type and name (`*` for all of the type). Versions are SchemaVer and must increase.',
        security: BEARER,
        params: Type.Object({
          type: Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))),
          name: Type.String({ minLength: 1, maxLength: 200 }),
          version: Type.String({ minLength: 1, maxLength: 32 }),
        }),
        body: Type.Record(Type.String(), Type.Unknown(), {
          description: 'A JSON Schema (draft-07 or 2020-12).',
        }),
        response: {
          201: Type.Object({
            schema: StoredSchemaSchema,
            compatibility: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
          }),
          ...errorResponses(400, 401, 403, 409, 429, 503),
        },
      },
    },
    async function putSchema(request, reply) {
      const { projectId } = authOf(request)
      const { type, name, version } = request.params
      // Check against the plan as stored (not a cache), so version order holds across servers.
      const plan = TrackingPlan.fromStoredSchemas(await store.listSchemas(projectId), projectId)
      const { stored, compatibility } = plan.register({
        eventType: type as EventType,
        eventName: name,
        version,
        jsonSchema: request.body,
      })
      await store.saveSchema(stored)
      await deps.onProjectChanged?.(projectId)
      await recordAudit(deps, request, 'schema.registered', `${type}/${name}/${version}`, {
        compatibility: compatibility ?? null,
      })
      const { projectId: _p, ...schema } = stored
      return reply
        .code(201)
        .send({ schema, compatibility: (compatibility as Record<string, unknown> | null) ?? null })
    },
  )

  app.get(
    '/api/v1/schemas',
    {
      onRequest: requireBearer(deps.keys, 'read'),
      schema: {
        tags: ['project'],
        summary: 'Tracking-plan schemas, every version',
        security: BEARER,
        response: {
          200: Type.Object({ schemas: Type.Array(ListedSchemaSchema) }),
          ...errorResponses(401, 403, 429, 503),
        },
      },
    },
    async function listSchemas(request) {
      const { projectId } = authOf(request)
      const plan = TrackingPlan.fromStoredSchemas(await store.listSchemas(projectId), projectId)
      return { schemas: plan.listSchemas().map(({ projectId: _p, ...s }) => s) }
    },
  )
}
