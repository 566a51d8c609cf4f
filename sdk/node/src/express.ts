import type { ErrorRequestHandler, Request, RequestHandler } from 'express'
import {
  type ApiRequestOptions,
  recordApiRequest,
  resolveApiRequestOptions,
  UNMATCHED_ROUTE,
} from './api-request.js'
import type { Tally } from './tally.js'

const ERROR = Symbol('tally.error')
type Marked = Request & { [ERROR]?: unknown }

/** Mount path(s) + route path, e.g. `/api` + `/users/:id`. */
function templateOf(baseUrl: string, route: unknown): string | undefined {
  const path = (route as { path?: unknown } | undefined)?.path
  if (path === undefined) return undefined
  const template = baseUrl + (typeof path === 'string' ? path : String(path))
  return template === '' ? '/' : template
}

/**
 * Express restores `req.baseUrl` when an error leaves a router, so by the time the response finishes the
 * mount path may be gone. The template is therefore taken when the router assigns `req.route`.
 */
function captureRoute(req: Request): () => string {
  let route: unknown
  let template: string | undefined
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set(value: unknown) {
      route = value
      template = templateOf(req.baseUrl, value)
    },
  })
  return () => template ?? UNMATCHED_ROUTE
}

/**
 * Express middleware recording every request as an `api_request` event when the response finishes: route
 * template (`req.baseUrl + req.route.path`, taken when the route matches), status, duration from `process.hrtime.bigint()`, body sizes from
 * Content-Length. Mount it first. Add `tallyExpressErrors()` after your routes to record the error class of
 * failed requests.
 *
 * @example
 * app.use(tallyExpress(tally, { ignore: ['/health'] }))
 */
export function tallyExpress(tally: Tally, options: ApiRequestOptions<Request> = {}): RequestHandler {
  const o = resolveApiRequestOptions<Request>(tally, options)
  return function tallyApiRequests(req: Marked, res, next) {
    const startNs = process.hrtime.bigint()
    const routeOf = captureRoute(req)
    // 'close' follows 'finish' for every response, and alone when the client went away first.
    res.once('close', function tallyRecord() {
      recordApiRequest(
        o,
        req,
        req.method,
        routeOf(),
        req.originalUrl,
        res.statusCode,
        Number(process.hrtime.bigint() - startNs) / 1e6,
        req.headers['content-length'],
        res.getHeader('content-length'),
        res.writableFinished ? (res.statusCode >= 500 ? req[ERROR] : undefined) : 'aborted',
      )
    })
    next()
  }
}

/**
 * Error middleware that remembers the error for `tallyExpress` (its class is recorded for 5xx) and passes it
 * on unchanged. Register it after your routes and before your own error handler.
 */
export function tallyExpressErrors(): ErrorRequestHandler {
  return function tallyErrors(err, req: Marked, _res, next) {
    req[ERROR] = err
    next(err)
  }
}
