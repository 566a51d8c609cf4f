import {
  STATUS_CODES as HTTP_STATUS_TEXT,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, isAppError } from '../errors/app-error.js'
import type { ErrorCode } from '../errors/codes.js'
import type { AllowedMethods } from './plugins/method-not-allowed.js'

/** Fastify's own error codes, mapped to ours. Anything a client can provoke must appear here or below. */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_body',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INSTANCE_ALREADY_STARTED: 'internal',
  FST_ERR_VALIDATION: 'validation_failed',
  FST_ERR_NOT_FOUND: 'not_found',
  FST_ERR_ASYNC_CONSTRAINT: 'not_found',
  FST_ERR_BAD_URL: 'not_found',
  FST_ERR_MAX_PARAM_LENGTH: 'not_found',
}

/** Fallback for other 4xx errors (from plugins) by status. */
const STATUS_CODES: Readonly<Record<number, ErrorCode>> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
}

interface AjvError {
  instancePath?: string
  keyword?: string
  message?: string
  params?: Record<string, unknown>
}

/** Ajv's message, with the allowed values spelled out for an enum (Ajv says only "allowed values"). */
function describeAjvError(v: AjvError): string {
  const allowed = (v.params as { allowedValues?: unknown } | undefined)?.allowedValues
  if (v.keyword === 'enum' && Array.isArray(allowed))
    return `must be one of: ${allowed.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(', ')}`
  const unknown = (v.params as { additionalProperty?: unknown } | undefined)?.additionalProperty
  if (v.keyword === 'additionalProperties' && typeof unknown === 'string')
    return `must not have "${unknown}" (not a known field)`
  return v.message ?? 'is invalid'
}

/**
 * Turns any thrown value into an AppError: ours pass through; Fastify's schema, parser and limit errors
 * get our codes; everything else is an internal error (500), which a client input must never reach.
 */
export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err
  const e = err as Partial<FastifyError> & {
    validation?: AjvError[]
    validationContext?: string
    status?: number
  }
  if (Array.isArray(e?.validation)) {
    const where = e.validationContext ?? 'body'
    const details = e.validation.map((v) => ({
      in: where,
      path: v.instancePath ?? '',
      keyword: v.keyword,
      message: describeAjvError(v),
      ...(v.params && Object.keys(v.params).length > 0 ? { params: v.params } : {}),
    }))
    const first = details[0]
    const message = first ? `${where}${first.path ? ` ${first.path}` : ''} ${first.message}` : undefined
    return new AppError('validation_failed', message, { details, cause: err })
  }
  const code = e?.code ? FASTIFY_CODES[e.code] : undefined
  if (code && code !== 'internal') return new AppError(code, messageFor(code, e), { cause: err })
  // secure-json-parse and JSON.parse raise SyntaxError; Fastify tags them 400.
  if (err instanceof SyntaxError && e.statusCode === 400)
    return new AppError('invalid_json', undefined, { cause: err })
  const status = e?.statusCode ?? e?.status
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const byStatus = STATUS_CODES[status] ?? 'validation_failed'
    return new AppError(byStatus, typeof e.message === 'string' && e.message ? e.message : undefined, {
      cause: err,
    })
  }
  return new AppError('internal', undefined, { cause: err })
}

function messageFor(code: ErrorCode, e: Partial<FastifyError>): string | undefined {
  if (code === 'unsupported_media_type')
    return 'The Content-Type is not supported; send application/json (the ingest routes also take text/plain)'
  if (code === 'invalid_body' && e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'The request body is empty'
  if (code === 'not_found') return undefined
  return undefined
}

/**
 * docs/errors.md: a `validation_failed` answer always carries `details` as an array of
 * `{ path, keyword, message }`. Checks deeper in the pipeline (the tracking plan, the store) throw with a
 * message alone or an object of facts: put in that shape here, once, for every route.
 */
function withDetailsArray(error: AppError): AppError {
  if (error.code !== 'validation_failed' || Array.isArray(error.details)) return error
  const facts = error.details
  const entry = {
    path: '',
    keyword: 'request',
    message: error.message,
    ...(facts !== undefined && typeof facts === 'object' ? { params: facts } : {}),
  }
  return new AppError('validation_failed', error.message, { details: [entry], cause: error.cause })
}

/**
 * `?limit=1&limit=2` reaches the schema as an array, and Ajv says "must be integer": name the real mistake.
 * Only for a type error on a top-level query key whose value arrived as a list.
 */
function explainRepeatedQueryKeys(error: AppError, request: FastifyRequest): AppError {
  if (error.code !== 'validation_failed' || !Array.isArray(error.details)) return error
  const query = (request.query ?? {}) as Record<string, unknown>
  const details = error.details as { in?: string; path?: string; keyword?: string; message?: string }[]
  let changed = false
  const explained = details.map((d) => {
    const key = d.path?.slice(1) ?? ''
    const value =
      d.in === 'querystring' && d.keyword === 'type' && !key.includes('/') ? query[key] : undefined
    if (!Array.isArray(value)) return d
    changed = true
    return { ...d, keyword: 'repeated', message: `is given ${value.length} times; give it once` }
  })
  if (!changed) return error
  const first = explained[0]
  return new AppError('validation_failed', `querystring ${first.path} ${first.message}`, {
    details: explained,
    cause: error.cause,
  })
}

/** Sends `{ error: { code, message, statusCode, details? } }` with Retry-After when the error has one. */
export function sendError(reply: FastifyReply, error: AppError): FastifyReply {
  if (error.retryAfterSeconds !== undefined)
    reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterSeconds))))
  return reply.code(error.statusCode).type('application/json; charset=utf-8').send(error.toJSON())
}

/** Registers the one error handler and the 404 handler on `app` (the root instance). */
export function registerErrorHandlers(app: FastifyInstance, allowedMethods: AllowedMethods = () => []): void {
  app.setErrorHandler(function tallyErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply) {
    const error = withDetailsArray(explainRepeatedQueryKeys(toAppError(err), request))
    if (error.statusCode >= 500 && error.code === 'internal') {
      request.log.error({ err }, 'unhandled error')
      // Logged in full, never shown: the message may name the database, a file or a query.
      return sendError(reply, new AppError('internal', `Internal error; request id ${request.id}`))
    } else if (error.code === 'overloaded') {
      // Shedding is the designed answer to a flood; a stack per refused request would deepen it.
      request.log.debug({ code: error.code }, error.message)
    } else if (error.statusCode >= 500) {
      request.log.warn({ code: error.code, err: error.cause ?? error }, error.message)
    }
    return sendError(reply, error)
  })
  app.setNotFoundHandler(function tallyNotFound(request: FastifyRequest, reply: FastifyReply) {
    // Named in the message, cut: a path of 9,000 characters came back whole in the answer (and the log).
    const fullPath = request.url.split('?')[0]
    const path = fullPath.length > 200 ? `${fullPath.slice(0, 200)}…` : fullPath
    const allowed = allowedMethods(request.method, request.url)
    if (allowed.length === 0)
      return sendError(reply, new AppError('not_found', `No route ${request.method} ${path}`))
    reply.header('allow', allowed.join(', '))
    return sendError(
      reply,
      new AppError(
        'method_not_allowed',
        `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}`,
      ),
    )
  })
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before any route runs (malformed HTTP,
 * headers over 16 KB, a request slower than `requestTimeout`) gets the documented error body too, then the
 * connection is closed.
 */
export function handleClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const error =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new AppError('request_timeout')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new AppError('headers_too_large')
        : new AppError('malformed_request')
  answerAndClose(socket, error)
  socket.destroy(err)
}

/**
 * What Node's HTTP server answers on its own, before Fastify sees the request, gets the documented body too:
 * an `Expect` other than `100-continue` (Node: a bare 417) and `CONNECT` (Node: the connection dropped
 * without an answer — this server is no proxy).
 */
export function answerOutsideFastify(server: Server): void {
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const error = new AppError(
      'expectation_failed',
      `Expect: ${JSON.stringify(request.headers.expect ?? '')} is not supported; only "100-continue" is`,
    )
    const body = JSON.stringify(error.toJSON())
    response.writeHead(error.statusCode, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    })
    response.end(body)
  })
  server.on('connect', (_request: IncomingMessage, socket: Socket) => {
    // A 405 names what is allowed (RFC 9110): the methods this server's routes take.
    answerAndClose(
      socket,
      new AppError('method_not_allowed', 'CONNECT is not allowed: this server is no proxy'),
      'Allow: DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT\r\n',
    )
    socket.end()
  })
}

function answerAndClose(socket: Socket, error: AppError, headers = ''): void {
  const body = JSON.stringify(error.toJSON())
  if (!socket.writable) return
  socket.write(
    `HTTP/1.1 ${error.statusCode} ${HTTP_STATUS_TEXT[error.statusCode]}\r\n${headers}Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}
