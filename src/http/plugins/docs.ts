import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

/** `/openapi.json` (OpenAPI 3.1, generated from the routes' TypeBox schemas) and `/docs` (Swagger UI). */
export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tally',
        version: '0.1.0',
        description:
          'Self-hosted analytics event pipeline. Native API under /api/v1 (Bearer keys), Segment-compatible ingest under /v1.',
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'A project API key (tly_w_…, tly_r_…, tly_a_…).',
          },
          segmentBasic: {
            type: 'http',
            scheme: 'basic',
            description: 'Segment style: the write key as user name.',
          },
        },
      },
      tags: [
        { name: 'ingest', description: 'Send events (write key).' },
        { name: 'segment', description: 'Segment HTTP tracking API (write key).' },
        { name: 'events', description: 'Read, export, update and delete events.' },
        { name: 'failed-events', description: 'Rejected events, kept for inspection and replay.' },
        { name: 'processing', description: 'Claim and acknowledge events for downstream consumers.' },
        { name: 'project', description: 'Project settings, tracking plan and keys.' },
        { name: 'stats', description: 'Statistics.' },
        { name: 'operations', description: 'Health and readiness.' },
      ],
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } })
  app.get(
    '/openapi.json',
    { schema: { hide: true }, config: { rateLimit: false } },
    async function openapi() {
      return app.swagger()
    },
  )
}
