import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import {
  type ApiRequestOptions,
  recordApiRequest,
  resolveApiRequestOptions,
  UNMATCHED_ROUTE,
} from './api-request.js'
import type { Tally } from './tally.js'

/** Options of the Fastify plugin: the client plus the shared api_request options. */
export interface TallyFastifyOptions extends ApiRequestOptions<FastifyRequest> {
  tally: Tally
}

const ERROR = Symbol('tally.error')
type Marked = FastifyRequest & { [ERROR]?: unknown }

/**
 * Fastify plugin recording every request as an `api_request` event: the route template
 * (`request.routeOptions.url`, e.g. `/users/:id`), status, duration from Fastify's own high-resolution
 * `reply.elapsedTime` (so no `onRequest` hook — and no property added to every request — is needed), body sizes
 * from Content-Length, and the error class of a failed request. Not encapsulated (like fastify-plugin), so it
 * sees the routes of the whole app.
 *
 * @example
 * await app.register(tallyFastify, { tally, ignore: ['/health'] })
 */
export const tallyFastify: FastifyPluginCallback<TallyFastifyOptions> = function tallyFastify(
  fastify: FastifyInstance,
  options: TallyFastifyOptions,
  done: (err?: Error) => void,
) {
  const o = resolveApiRequestOptions<FastifyRequest>(options.tally, options)
  fastify.addHook('onError', function tallyError(request: Marked, _reply, error, next) {
    request[ERROR] = error
    next()
  })
  fastify.addHook('onResponse', function tallyRecord(request: Marked, reply: FastifyReply, next) {
    const statusCode = reply.statusCode
    recordApiRequest(
      o,
      request,
      request.method,
      request.routeOptions.url ?? UNMATCHED_ROUTE,
      request.url,
      statusCode,
      reply.elapsedTime,
      request.headers['content-length'],
      reply.getHeader('content-length'),
      statusCode >= 500 ? request[ERROR] : undefined,
    )
    next()
  })
  done()
}
// What fastify-plugin sets: hooks apply to the parent scope, and the plugin has a readable name.
Object.assign(tallyFastify, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'tally-api-requests',
})
