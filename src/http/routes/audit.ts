import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { AUDIT_ACTIONS, type AuditAction } from '../../audit/audit-log.js'
import type { RouteDeps, TallyServer } from '../build-server.js'
import { authOf, requireBearer } from '../plugins/auth.js'
import { BEARER, errorResponses } from './common-schemas.js'

const AuditEntrySchema = Type.Object({
  id: Type.String(),
  projectId: Type.String(),
  at: Type.String({ format: 'date-time' }),
  actor: Type.Union([Type.Literal('key'), Type.Literal('cli')]),
  actorKeyId: Type.Union([Type.String(), Type.Null()], { description: 'The API key that acted.' }),
  action: Type.Union(AUDIT_ACTIONS.map((a) => Type.Literal(a))),
  target: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
})

const AuditQuerySchema = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    action: Type.Optional(Type.Union(AUDIT_ACTIONS.map((a) => Type.Literal(a)))),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
)

/**
 * Records an admin action of the request's key once it succeeded. Awaited by the route, so an action
 * whose record could not be written answers 503 (the client retries; the action itself is idempotent
 * or reports not_found the second time) rather than passing unrecorded.
 */
export async function recordAudit(
  deps: RouteDeps,
  request: FastifyRequest,
  action: AuditAction,
  target: string | null,
  details: Record<string, unknown> = {},
): Promise<void> {
  if (!deps.audit) return
  const { projectId, keyId } = authOf(request)
  await deps.audit.record({ projectId, actor: { kind: 'key', keyId }, action, target, details })
}

/** `GET /api/v1/audit` (admin): the project's audit log, newest first. */
export function registerAuditRoutes(app: TallyServer, deps: RouteDeps): void {
  const audit = deps.audit
  if (!audit) return
  app.get(
    '/api/v1/audit',
    {
      onRequest: requireBearer(deps.keys, 'admin'),
      schema: {
        tags: ['project'],
        summary: 'Audit log of admin actions: who (key id), what, when — newest first',
        security: BEARER,
        querystring: AuditQuerySchema,
        response: {
          200: Type.Object({
            entries: Type.Array(AuditEntrySchema),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async function listAudit(request) {
      return audit.list(authOf(request).projectId, request.query)
    },
  )
}
