import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import rateLimit from '@fastify/rate-limit'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Ajv } from 'ajv'
import ajvFormatsModule from 'ajv-formats'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifySchemaCompiler,
  LogController,
  type RawServerDefault,
} from 'fastify'
import { type Config, parseTrustProxy } from '../config/config.js'
import { AppError } from '../errors/app-error.js'
import type { Ingestor } from '../ingest/ingest-types.js'
import type { EventStore } from '../store/event-store.js'
import { prepareSchema } from '../validate/compile.js'
import { acceptIsoDateTimes, registerFormats } from '../validate/formats.js'
import { ApiKeyResolver } from './auth/api-keys.js'
import {
  answerOutsideFastify,
  handleClientError,
  registerErrorHandlers,
  sendError,
  toAppError,
} from './error-handler.js'
import { rateLimitBucketFor, registerAuthFailureLimit } from './plugins/auth.js'
import { registerDashboard } from './plugins/dashboard.js'
import { registerDocs } from './plugins/docs.js'
import { assertUtf8Charset, MAX_BODY_DEPTH, nestsDeeperThan } from './plugins/ingest-body.js'
import { registerLoadShedding } from './plugins/load-shedding.js'
import { refuseShadowedMethods, trackAllowedMethods } from './plugins/method-not-allowed.js'
import { createServerMetrics, registerMetrics, type ServerMetrics } from './plugins/metrics.js'
import { registerStorableTextCheck } from './plugins/storable-text.js'
import { registerAuditRoutes } from './routes/audit.js'
import { ErrorBodySchema } from './routes/common-schemas.js'
import { registerEventRoutes } from './routes/events.js'
import { registerFailedEventRoutes } from './routes/failed-events.js'
import { registerHealthRoutes } from './routes/health.js'
import { registerIngestRoutes } from './routes/ingest.js'
import { registerProcessingRoutes } from './routes/processing.js'
import { registerProjectRoutes } from './routes/project.js'
import { registerSchemaRoutes } from './routes/schemas.js'
import { registerStatsRoutes } from './routes/stats.js'
import type { ServerServices } from './server-services.js'

// ajv-formats is CommonJS; under NodeNext its default import is the module object on some toolchains.
const addFormats = ((ajvFormatsModule as unknown as { default?: unknown }).default ?? ajvFormatsModule) as (
  ajv: Ajv,
) => Ajv

/**
 * Request validation: two Ajv instances that differ only in type coercion. Query strings, route parameters
 * and headers arrive as text, so they are coerced (`"5"` → 5, one value → `[value]`). JSON bodies arrive
 * typed and are never coerced: a body's `40` must stay a number — with coercion, a `where` value schema
 * that allows a string first turned it into `"40"`, and `POST /api/v1/events/query` compared numbers,
 * booleans and null as strings (found by a user's trial).
 */
function createRequestValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const create = (coerceTypes: 'array' | false) => {
    // addUsedSchema: false, as Fastify's own compiler: routes share schemas with an `$id` (EventQuery, …).
    const ajv = new Ajv({
      removeAdditional: false,
      useDefaults: true,
      allErrors: true,
      strict: false,
      addUsedSchema: false,
      coerceTypes,
    })
    addFormats(ajv)
    registerFormats(ajv)
    acceptIsoDateTimes(ajv)
    return ajv
  }
  const text = create('array')
  const body = create(false)
  // prepareSchema: TypeBox writes a literal union as `anyOf` of `const`s, which Ajv reports as one "must be
  // equal to constant" per literal; as an `enum` it is one "must be equal to one of the allowed values"
  // error listing them.
  return ({ schema, httpPart }) =>
    (httpPart === 'body' ? body : text).compile(prepareSchema(schema) as object)
}

/** The Fastify instance type Tally's routes are written against (TypeBox-typed schemas). */
export type TallyServer = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

/** What the HTTP layer needs. Built by `createApp` (src/app); tests build it the same way. */
export interface ServerDeps extends ServerServices {
  config: Config
  store: EventStore
  ingestor: Ingestor
  /** Events waiting in the write queue, for /metrics. */
  queueDepth?: () => number
  /** A pino logger to use instead of building one from `config.logLevel`. */
  logger?: FastifyBaseLogger
}

/** What each route module receives. */
export interface RouteDeps extends ServerDeps {
  keys: ApiKeyResolver
  metrics: ServerMetrics
}

/**
 * Builds (but does not start) the HTTP server: error handling, auth, body parsing, rate limits, CORS on the
 * ingest routes, every route of docs/api.md, /metrics and the OpenAPI document. Call `listen` or `inject`.
 */
export async function buildServer(deps: ServerDeps): Promise<TallyServer> {
  const { config } = deps
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: { level: config.logLevel } }),
    // A hop count arrives as a trust function (parseTrustProxy): Fastify 5 reads a number as trust-nothing.
    trustProxy: parseTrustProxy(config.trustProxy),
    bodyLimit: config.bodyLimit,
    // Slow clients: a request (headers and body) must arrive within requestTimeoutMs, and a socket that sends
    // nothing for twice that is closed — a slow-loris or an endless body cannot hold a connection for ever.
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.requestTimeoutMs * 2,
    // Node checks those deadlines every connectionsCheckingInterval (default 30 s); check each second so a
    // slow client is cut off close to the deadline, and give headers the same deadline as the whole request.
    http: { headersTimeout: config.requestTimeoutMs, connectionsCheckingInterval: 1000 },
    // While closing, requests on open connections still get our answers (ingest: `overloaded` + Retry-After)
    // instead of Fastify's undocumented 503 body without Retry-After.
    return503OnClosing: false,
    // Router errors (a malformed %-escape in the path, an over-long parameter) get the documented body too.
    frameworkErrors: (err, _request, reply) => sendError(reply, toAppError(err)),
    clientErrorHandler: handleClientError,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Per-request log lines only at debug/trace: at thousands of requests a second they would dominate.
    logController: new LogController({
      disableRequestLogging: config.logLevel !== 'debug' && config.logLevel !== 'trace',
    }),
    // The router's own limit on a path segment answered before any route or auth ran (a bare 400 without
    // details); segments are bounded by the routes' schemas instead, after auth. Beyond 8 KB (more than
    // clients and proxies send in a URL) it answers 404 not_found.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 8192 },
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(createRequestValidatorCompiler())
  answerOutsideFastify(app.server)

  // Response schemas document the API (OpenAPI); serialising with JSON.stringify keeps every field the
  // store returns (fast-json-stringify would drop keys the schema does not list, e.g. enrichment extras).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data))
  const allowedMethods = trackAllowedMethods(app)
  registerErrorHandlers(app, allowedMethods)
  refuseShadowedMethods(app, allowedMethods)
  useStrictJsonBodies(app)
  // Once shutdown has begun, every answer closes its connection: answers went out with `keep-alive`, the
  // client sent its next request on that socket, and the closing server reset it (32 socket errors for 48
  // clients at one SIGTERM). A client told `close` opens a new connection — to a server still accepting.
  let closing = false
  app.addHook('preClose', async function markClosing() {
    closing = true
  })
  app.addHook('onSend', async function requestIdHeader(request, reply, payload) {
    reply.header('x-request-id', request.id)
    if (closing) reply.header('connection', 'close')
    return payload
  })

  const metrics = createServerMetrics({ queueDepth: deps.queueDepth, defaultMetrics: true })
  const routeDeps: RouteDeps = { ...deps, keys: new ApiKeyResolver(deps.store), metrics }

  documentCommonErrors(app)
  if (config.docs) await registerDocs(app)
  registerMetrics(app, metrics)
  registerHealthRoutes(app, routeDeps)

  // Everything under the API is rate limited per key (after auth), or per IP for unauthenticated calls;
  // requests answered 401 (missing or wrong key) also count per IP, checked before any key lookup.
  await app.register(async function apiScope(api) {
    registerLoadShedding(api, {
      maxInFlight: config.maxInFlight,
      maxEventLoopDelayMs: config.maxEventLoopDelayMs,
    })
    if (config.rateLimitMax > 0) {
      registerAuthFailureLimit(api, {
        max: config.rateLimitMax,
        windowMs: config.rateLimitWindowMs,
        resolver: routeDeps.keys,
      })
      await api.register(rateLimit, {
        global: true,
        // Before validation, so requests it refuses count too (rateLimitBucketFor).
        hook: 'preValidation',
        max: config.rateLimitMax,
        timeWindow: config.rateLimitWindowMs,
        keyGenerator: rateLimitBucketFor(routeDeps.keys),
        errorResponseBuilder: (_request, context) =>
          new AppError(
            'rate_limited',
            `Rate limit of ${context.max} requests exceeded; retry in ${context.after}`,
            {
              retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)),
            },
          ),
      })
    }
    const scoped = api.withTypeProvider<TypeBoxTypeProvider>()
    await registerIngestRoutes(scoped, routeDeps)
    // Every other API route: text the stores cannot keep is refused up front (ingest rejects it per event).
    await scoped.register(async function storedTextRoutes(rest) {
      registerStorableTextCheck(rest)
      refuseMissingBodies(rest)
      const routes = rest.withTypeProvider<TypeBoxTypeProvider>()
      registerEventRoutes(routes, routeDeps)
      registerFailedEventRoutes(routes, routeDeps)
      registerProcessingRoutes(routes, routeDeps)
      registerProjectRoutes(routes, routeDeps)
      registerSchemaRoutes(routes, routeDeps)
      registerStatsRoutes(routes, routeDeps)
      registerAuditRoutes(routes, routeDeps)
    })
  })
  await registerDashboard(app) // `/` and client-side routes; never /api, /v1, /docs, /metrics, …
  return app
}

/**
 * The body parser of every route but ingest (which has its own, src/http/plugins/ingest-body.ts): JSON
 * only, UTF-8 only, not compressed — each refusal named (415), where Fastify's default read a
 * `charset=iso-8859-1` body as UTF-8, took a gzip body for broken JSON and a text/plain body for a string.
 * Its JSON parser (secure-json-parse) refuses a `__proto__` or `constructor.prototype` key but calls the
 * body "not valid JSON"; when the text is valid JSON after all, the answer says which keys were refused.
 */
function useStrictJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error')
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // No body at all, as many HTTP clients send on every DELETE or GET with this header: no body. Routes
    // that need one say so themselves (refuseMissingBodies); `DELETE /api/v1/events/:id` answered 400.
    if (body === '') {
      done(null, undefined)
      return
    }
    const encoding = (request.headers['content-encoding'] ?? '').trim().toLowerCase()
    if (encoding !== '' && encoding !== 'identity') {
      done(
        new AppError(
          'unsupported_media_type',
          `Content-Encoding "${encoding}" is not accepted here; send the body uncompressed (only the ingest routes take gzip, deflate or br)`,
        ),
        undefined,
      )
      return
    }
    try {
      assertUtf8Charset(request.headers['content-type'])
      // As on the ingest routes: deeper nesting overflowed the stack later (a 500 on a schema PUT).
      if (nestsDeeperThan(body as string, MAX_BODY_DEPTH)) {
        throw new AppError(
          'invalid_body',
          `The request body nests objects or arrays deeper than ${MAX_BODY_DEPTH} levels`,
        )
      }
    } catch (err) {
      done(err as Error, undefined)
      return
    }
    parse(request, body as string, (err, value) => {
      if (err === null && hasNonFiniteNumber(value)) {
        // JSON.parse reads 1e400 as Infinity, which JSON cannot hold: stored, it silently became null.
        return done(
          new AppError('invalid_body', 'The request body holds a number too large to represent (e.g. 1e400)'),
          undefined,
        )
      }
      if (err === null || !isJson(body as string)) return done(err, value)
      done(
        new AppError(
          'invalid_body',
          'The body has a "__proto__" or "constructor.prototype" key, which is refused (prototype pollution)',
        ),
        undefined,
      )
    })
  })
}

function hasNonFiniteNumber(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value)
  if (value === null || typeof value !== 'object') return false
  for (const v of Array.isArray(value) ? value : Object.values(value)) if (hasNonFiniteNumber(v)) return true
  return false
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/**
 * Adds to every route's documented responses the errors any route of its kind can answer, so the OpenAPI
 * document lists what a client really gets: 400 for a route with parameters, a query or a body (their
 * schemas), 413 and 415 for one with a body (size, media type, encoding). A route listing its own keeps them.
 */
function documentCommonErrors(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const schema = route.schema as
      | { response?: Record<string, unknown>; body?: unknown; querystring?: unknown; params?: unknown }
      | undefined
    if (schema?.response === undefined) return
    const add: number[] = []
    if (schema.body !== undefined || schema.querystring !== undefined || schema.params !== undefined)
      add.push(400)
    // The Segment routes answer an oversized body 400, as Segment does (routes/ingest.ts).
    const segmentApi = route.config?.segmentApi === true
    if (schema.body !== undefined) add.push(...(segmentApi ? [415] : [413, 415]))
    for (const status of add) schema.response[status] ??= ErrorBodySchema
  })
}

/**
 * A route that takes a body, called without one (no Content-Type, nothing sent): `invalid_body` "empty",
 * as docs/errors.md says and as an empty JSON body already is, not the schema's "body must be object".
 */
function refuseMissingBodies(scope: FastifyInstance): void {
  scope.addHook('preValidation', async (request) => {
    if (request.body !== undefined || request.routeOptions.schema?.body === undefined) return
    throw new AppError('invalid_body', 'The request body is empty')
  })
}
