import { Type } from '@sinclair/typebox'
import { AppError } from '../../errors/app-error.js'
import { API_KEY_ROLES, ENFORCEMENT_MODES } from '../../store/project-types.js'
import { createApiKeyRecord } from '../auth/api-keys.js'
import type { RouteDeps, TallyServer } from '../build-server.js'
import { authOf, requireBearer } from '../plugins/auth.js'
import { recordAudit } from './audit.js'
import { BEARER, errorResponses } from './common-schemas.js'

const SettingsSchema = Type.Object(
  {
    enforcement: Type.Union(
      ENFORCEMENT_MODES.map((m) => Type.Literal(m)),
      {
        description: 'Tracking-plan enforcement: allow, warn (store with violations) or block (reject).',
      },
    ),
    storeRawIp: Type.Boolean(),
    dropBots: Type.Boolean(),
    nameCase: Type.Union([Type.Literal('as-is'), Type.Literal('snake_case'), Type.Literal('lower')]),
    deriveSessionId: Type.Boolean(),
    redactKeys: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 200 }),
    redactExemptKeys: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
      maxItems: 200,
      description: 'Keys whose values are never redacted, e.g. ["email"] to keep the email trait.',
    }),
  },
  { additionalProperties: false },
)
const ProjectSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  settings: SettingsSchema,
})
const RoleSchema = Type.Union(API_KEY_ROLES.map((r) => Type.Literal(r)))
const KeySchema = Type.Object({
  id: Type.String(),
  role: RoleSchema,
  prefix: Type.String({ description: 'First characters of the secret.' }),
  name: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
})

/** The key's project: settings (enforcement mode), and API keys. */
export function registerProjectRoutes(app: TallyServer, deps: RouteDeps): void {
  const { store } = deps
  const read = requireBearer(deps.keys, 'read')
  const admin = requireBearer(deps.keys, 'admin')

  app.get(
    '/api/v1/project',
    {
      onRequest: read,
      schema: {
        tags: ['project'],
        summary: "The key's project and its settings",
        security: BEARER,
        response: { 200: ProjectSchema, ...errorResponses(401, 403, 429, 503) },
      },
    },
    async function getProject(request) {
      const project = await store.getProject(authOf(request).projectId)
      if (!project) throw new AppError('not_found', 'The project no longer exists')
      return project
    },
  )

  app.patch(
    '/api/v1/project/settings',
    {
      onRequest: admin,
      schema: {
        tags: ['project'],
        summary: 'Change project settings, e.g. the tracking-plan enforcement mode',
        security: BEARER,
        body: Type.Partial(SettingsSchema, { additionalProperties: false, minProperties: 1 }),
        response: { 200: ProjectSchema, ...errorResponses(400, 401, 403, 404, 429, 503) },
      },
    },
    async function updateSettings(request) {
      const { projectId } = authOf(request)
      const project = await store.updateProjectSettings(projectId, request.body)
      if (!project) throw new AppError('not_found', 'The project no longer exists')
      await deps.onProjectChanged?.(projectId)
      await recordAudit(deps, request, 'settings.changed', projectId, { changed: request.body })
      return project
    },
  )

  app.get(
    '/api/v1/keys',
    {
      onRequest: admin,
      schema: {
        tags: ['project'],
        summary: "The project's API keys (never their secrets)",
        security: BEARER,
        response: {
          200: Type.Object({ keys: Type.Array(KeySchema) }),
          ...errorResponses(401, 403, 429, 503),
        },
      },
    },
    async function listKeys(request) {
      const keys = await store.listApiKeys(authOf(request).projectId)
      return { keys: keys.map(({ hash: _hash, projectId: _p, ...key }) => key) }
    },
  )

  app.post(
    '/api/v1/keys',
    {
      onRequest: admin,
      schema: {
        tags: ['project'],
        summary: 'Create an API key; the secret is in this response only',
        security: BEARER,
        body: Type.Object(
          { role: RoleSchema, name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Composite([KeySchema, Type.Object({ secret: Type.String() })]),
          ...errorResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async function createKey(request, reply) {
      const { secret, record } = createApiKeyRecord(authOf(request).projectId, request.body.role, {
        name: request.body.name,
      })
      await store.saveApiKey(record)
      await recordAudit(deps, request, 'key.created', record.id, {
        role: record.role,
        name: record.name,
        prefix: record.prefix,
      })
      const { hash: _hash, projectId: _p, ...key } = record
      return reply.code(201).send({ ...key, secret })
    },
  )

  app.delete(
    '/api/v1/keys/:id',
    {
      onRequest: admin,
      schema: {
        tags: ['project'],
        summary: 'Revoke an API key (takes effect within 10 seconds on every server)',
        security: BEARER,
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 429, 503) },
      },
    },
    async function revokeKey(request, reply) {
      const revoked = await store.revokeApiKey(authOf(request).projectId, request.params.id)
      if (!revoked) throw new AppError('not_found', `No key ${request.params.id}`)
      deps.keys.clear()
      await recordAudit(deps, request, 'key.revoked', request.params.id)
      return reply.code(204).send(null)
    },
  )
}
