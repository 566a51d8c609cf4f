import cors from '@fastify/cors'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { normaliseOrigin, parseCorsOrigins } from '../../config/config.js'
import { AppError } from '../../errors/app-error.js'
import type { IngestContext } from '../../ingest/ingest-types.js'
import { BatchResultSchema } from '../../schema/batch.js'
import type { RouteDeps, TallyServer } from '../build-server.js'
import { toAppError } from '../error-handler.js'
import { authOf, requireBearer, requireSegmentKey } from '../plugins/auth.js'
import { acceptAnyContentTypeAsJson, decodedBodyBytes, useIngestBodyParser } from '../plugins/ingest-body.js'
import { releaseInFlightSlot } from '../plugins/load-shedding.js'
import { BEARER, errorResponses, inline } from './common-schemas.js'
import { fromSegmentBatch, fromSegmentCall, SEGMENT_CALLS, type SegmentBatch } from './segment-mapping.js'

const INGEST_ERRORS = errorResponses(400, 401, 403, 413, 415, 429, 503)
const IngestBodySchema = Type.Unknown({
  description:
    'One event (EventCreate), an array of events, or `{ "events": [...], "sentAt"? }`. Each event is validated on its own.',
})

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The native body forms: one event, an array, or `{ events, sentAt? }`. */
export function toNativeBatch(body: unknown): SegmentBatch {
  if (body === undefined) throw new AppError('invalid_body', 'The request body is empty')
  if (Array.isArray(body)) return { events: body }
  if (!isObject(body)) throw new AppError('invalid_body', 'The request body must be a JSON object or array')
  if ('events' in body && !('type' in body)) {
    if (!Array.isArray(body.events)) throw new AppError('invalid_body', '"events" must be an array')
    if (body.sentAt !== undefined && typeof body.sentAt !== 'string') {
      throw new AppError('invalid_body', '"sentAt" must be an ISO-8601 string')
    }
    return { events: body.events, sentAt: body.sentAt as string | undefined }
  }
  return { events: [body] }
}

/** How a Segment route ingests (absent: the native route). */
interface SegmentIngest {
  /** `/v1/import`: no event is too old (IngestContext.historical). */
  historical: boolean
}

function contextOf(request: FastifyRequest, batch: SegmentBatch, segment?: SegmentIngest): IngestContext {
  return {
    historical: segment?.historical === true,
    // Segment's API refuses a request holding a message over 32 KB with 400: so do its routes here.
    refuseOversized: segment !== undefined,
    projectId: authOf(request).projectId,
    clientIp: request.ip,
    userAgent: request.headers['user-agent'],
    sentAt: batch.sentAt,
    receivedAt: new Date(),
    notes: batch.notes,
    onQueued: () => releaseInFlightSlot(request),
    bytes: decodedBodyBytes(request),
  }
}

/**
 * The ingest routes, in their own scope: body parsers for what browsers and SDKs send (JSON, text/plain,
 * gzip), CORS, and write-key auth. `POST /api/v1/events` (native) and the Segment tracking API under /v1.
 */
export async function registerIngestRoutes(api: TallyServer, deps: RouteDeps): Promise<void> {
  await api.register(async function ingestScope(plain) {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>()
    useIngestBodyParser(scope, deps.config.bodyLimit)
    await scope.register(cors, {
      origin: parseCorsOrigins(deps.config.corsOrigins),
      methods: ['POST', 'OPTIONS'],
      allowedHeaders: ['Content-Type', 'Content-Encoding', 'Authorization', 'X-Retry-Count'],
      exposedHeaders: ['Retry-After', 'X-Request-Id'],
      maxAge: 86_400,
      // An OPTIONS without Origin / Access-Control-Request-Method is not a preflight: answer 204 rather than
      // the plugin's plain-text 400 (which is not the documented error body).
      strictPreflight: false,
    })
    const allowedOrigins = parseCorsOrigins(deps.config.corsOrigins)
    if (allowedOrigins !== true) {
      // CORS only stops a page reading the answer; a text/plain beacon or form POST needs no preflight and
      // was stored from any site. With an allowlist, a browser request from another origin is refused.
      // Requests without Origin (servers, SDKs, curl) are not browser cross-origin requests: they pass.
      const allowed = new Set(allowedOrigins)
      scope.addHook('onRequest', async function refuseOtherOrigins(request) {
        const origin = request.headers.origin
        if (origin === undefined || allowed.has(origin) || allowed.has(normaliseOrigin(origin))) return
        // A page served by this server itself (same origin: browsers send Origin on every POST).
        if (sameHost(origin, request.headers.host)) return
        throw new AppError(
          'forbidden',
          `Origin ${JSON.stringify(origin)} may not send events here (TALLY_CORS_ORIGINS)`,
        )
      })
    }

    async function ingest(request: FastifyRequest, batch: SegmentBatch, segment?: SegmentIngest) {
      // Bytes alone do not bound the work: 500 KB of `{}` is 166,666 events, each validated, answered and
      // kept as a failed event (23 s of server time, a 15 MB answer to `[1,1,…]`). SDKs send 10–500.
      const limit = deps.config.maxEventsPerRequest
      if (batch.events.length > limit) {
        throw new AppError(
          'payload_too_large',
          `The request carries ${batch.events.length} events; at most ${limit} per request (TALLY_MAX_EVENTS_PER_REQUEST): send them in smaller batches`,
        )
      }
      const result = await deps.ingestor.ingest(batch.events, contextOf(request, batch, segment))
      deps.metrics.recordBatch(result)
      return result
    }

    scope.post(
      '/api/v1/events',
      {
        onRequest: requireBearer(deps.keys, 'write'),
        schema: {
          tags: ['ingest'],
          summary: 'Ingest events',
          description:
            'Accepts one event, an array, or `{ "events": [...] }` as JSON, text/plain (sendBeacon), gzip/deflate. Per-event problems are reported per event; the request fails only as a whole (400/413/415).',
          security: BEARER,
          body: IngestBodySchema,
          response: { 200: inline(BatchResultSchema), ...INGEST_ERRORS },
        },
      },
      async function ingestNative(request) {
        return ingest(request, toNativeBatch(request.body))
      },
    )

    const segmentOptions = (summary: string) => ({
      config: { segmentApi: true },
      preValidation: requireSegmentKey(deps.keys),
      schema: {
        tags: ['segment'],
        summary,
        security: [{ segmentBasic: [] }, { bearer: [] }] as Record<string, string[]>[],
        body: Type.Unknown({ description: 'A Segment message, or for batch/import `{ batch: [...] }`.' }),
        // No 413 here: an oversized body is Segment's 400 (payload_too_large).
        response: {
          200: Type.Object({ success: Type.Literal(true) }),
          ...errorResponses(400, 401, 403, 415, 429, 503),
        },
      },
    })
    await scope.register(async function segmentScope(segment) {
      acceptAnyContentTypeAsJson(segment, deps.config.bodyLimit)
      // Segment's API answers 400 to a body over its limits, and the SDKs of its family give up only on a
      // 400 (they retry a 413 before dropping it). Same code and body, Segment's status; anything else goes
      // on to the server's error handler.
      segment.setErrorHandler(function segmentErrors(err) {
        const error = toAppError(err)
        if (error.code !== 'payload_too_large') throw err
        throw new AppError('payload_too_large', error.message, {
          cause: err,
          statusCode: 400,
          details: error.details,
        })
      })
      // Analytics.js 2.0 (@segment/analytics-next) posts each call to the first letter of its type
      // (`/v1/t`, `/v1/p`, …) and, in its batching mode, to `/v1/b`: Segment's API takes both spellings.
      for (const call of SEGMENT_CALLS) {
        for (const path of [`/v1/${call}`, `/v1/${call.charAt(0)}`]) {
          const summary =
            path === `/v1/${call}` ? `Segment ${call} call` : `Segment ${call} call (Analytics.js path)`
          segment.post(path, segmentOptions(summary), async function segmentCall(request) {
            await ingest(request, fromSegmentCall(request.body, call), { historical: false })
            return { success: true as const }
          })
        }
      }
      for (const path of ['/v1/batch', '/v1/import', '/v1/b']) {
        segment.post(path, segmentOptions('Segment batch'), async function segmentBatch(request) {
          // Segment's route for historical data: no event there is too old (see IngestContext.historical).
          await ingest(request, fromSegmentBatch(request.body), { historical: path === '/v1/import' })
          return { success: true as const }
        })
      }
    })
  })
}

/** Whether `origin` names the host the request was sent to (its `Host` header). */
function sameHost(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false
  try {
    return new URL(origin).host === new URL(`http://${host}`).host
  } catch {
    return false
  }
}
