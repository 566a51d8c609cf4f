import { IncomingMessage, ServerResponse } from 'node:http'
import type { ErrorRequestHandler, Request, RequestHandler } from 'express'
import {
  type ApiRequestOptions,
  type ResolvedApiRequestOptions,
  recordApiRequest,
  resolveApiRequestOptions,
  UNMATCHED_ROUTE,
} from './api-request.js'
import { REPORT_ERROR, type Tally } from './tally.js'
import { TallySdkError } from './types.js'

const ERROR = Symbol('tally.error')
/** The last `req.route` assigned, and `req.baseUrl` at that moment. */
const ROUTE = Symbol('tally.route')
const BASE_URL = Symbol('tally.baseUrl')
/** Set on a request prototype once its `route` accessor is installed. */
const ROUTE_ACCESSOR = Symbol('tally.routeAccessor')
/** Set on a response prototype once its `end` records requests. */
const END_WRAPPER = Symbol('tally.endWrapper')
/** In `res.locals`: the options of the middleware that saw the request first, and when it did. */
const OPTIONS = Symbol('tally.options')
const START = Symbol('tally.start')
/** Kept on an Express Route object: the template for the last mount path it was seen under. */
const TEMPLATE_BASE = Symbol('tally.templateBase')
const TEMPLATE = Symbol('tally.template')

type Marked = Request & {
  [ERROR]?: unknown
  [ROUTE]?: unknown
  [BASE_URL]?: string
  [ROUTE_ACCESSOR]?: true
}
interface Locals {
  [OPTIONS]?: ResolvedApiRequestOptions<Request>
  [START]?: number
}
type Recorded = ServerResponse & { req: Marked; locals?: Locals; [END_WRAPPER]?: true }
type CachedRoute = { path?: unknown; [TEMPLATE_BASE]?: string; [TEMPLATE]?: string }

/**
 * Express restores `req.baseUrl` when an error leaves a router, so by the time the response ends the mount
 * path may be gone. The mount path is therefore taken when the router assigns `req.route`, by an accessor on
 * the request prototype (`app.request`, Express's own place for request extensions): installed once per app
 * instead of a property defined on every request.
 */
const routeAccessor: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: Marked) {
    return this[ROUTE]
  },
  set(this: Marked, value: unknown) {
    this[ROUTE] = value
    this[BASE_URL] = this.baseUrl
  },
}

/** The prototype to extend: Express's per-app one, or the object itself outside an Express app. */
function extensible<T extends object>(object: T, nodePrototype: object): T {
  const proto = Object.getPrototypeOf(object) as T | null
  return proto === null || proto === nodePrototype ? object : proto
}

function installRouteAccessor(req: Marked): void {
  const current = (req as { route?: unknown }).route
  const target = extensible(req, IncomingMessage.prototype)
  Object.defineProperty(target, 'route', routeAccessor)
  Object.defineProperty(target, ROUTE_ACCESSOR, { configurable: true, value: true })
  if (current !== undefined) (req as { route?: unknown }).route = current
}

/**
 * Records the request when the app ends its response: `end` on the response prototype (`app.response`)
 * records (status and headers are final by then), then calls the `end` it shadows. No listener, closure or
 * property per response; a response ended twice is recorded once.
 */
function installEndWrapper(res: Recorded): void {
  const target = extensible(res, ServerResponse.prototype)
  const end = target.end
  Object.defineProperty(target, 'end', {
    configurable: true,
    writable: true,
    value: function tallyEnd(this: Recorded) {
      const locals = this.locals
      const o = locals?.[OPTIONS]
      if (o !== undefined) {
        locals![OPTIONS] = undefined
        // Inside the app's own `end()`: nothing of the recording may reach it (see identifyOrReport).
        try {
          record(o, this, locals![START]!)
        } catch (err) {
          o.tally[REPORT_ERROR](
            new TallySdkError(
              'invalid_event',
              `The request could not be recorded: ${String(err)}`,
              {},
              { cause: err },
            ),
          )
        }
      }
      // biome-ignore lint/complexity/noArguments: passed on as they came (end's optional arguments), no array
      return (end as (...a: unknown[]) => unknown).apply(this, arguments as never)
    },
  })
  Object.defineProperty(target, END_WRAPPER, { configurable: true, value: true })
}

function record(o: ResolvedApiRequestOptions<Request>, res: Recorded, start: number): void {
  const req = res.req
  const aborted = isAborted(res)
  // A client that left got no answer: 499 (nginx's "client closed request"), not the status the app set
  // afterwards — recorded as 200, it counted as a success in the API statistics (a trial).
  const statusCode = aborted ? CLIENT_CLOSED_REQUEST : res.statusCode
  recordApiRequest(
    o,
    req,
    req.method,
    templateOf(req[BASE_URL], req[ROUTE]),
    req.originalUrl,
    statusCode,
    performance.now() - start,
    req.headers['content-length'],
    res.getHeader('content-length'),
    aborted ? 'aborted' : statusCode >= 500 ? req[ERROR] : undefined,
  )
}

const CLIENT_CLOSED_REQUEST = 499

/** The client went away before the app ended the response. */
function isAborted(res: ServerResponse): boolean {
  return res.destroyed && !res.writableFinished
}

/** Mount path(s) + route path, e.g. `/api` + `/users/:id`; cached on the route for its last mount path. */
function templateOf(baseUrl: string | undefined, route: unknown): string {
  const r = route as CachedRoute | undefined
  if (r == null || r.path === undefined) return UNMATCHED_ROUTE
  const base = baseUrl ?? ''
  if (r[TEMPLATE_BASE] === base) return r[TEMPLATE]!
  const template = base + (typeof r.path === 'string' ? r.path : String(r.path)) || '/'
  r[TEMPLATE_BASE] = base
  r[TEMPLATE] = template
  return template
}

/**
 * Express middleware recording every request as an `api_request` event when the app ends the response: route
 * template (`req.baseUrl + req.route.path`, taken when the route matches), status, duration from
 * `performance.now()` (middleware to `res.end()`), body sizes from Content-Length; a request whose client went
 * away before the app responded is recorded with status 499 and `error: 'aborted'` when it does. Mount it first. Add
 * `tallyExpressErrors()` after your routes to record the error class of failed requests.
 *
 * Per request it stores its options and the start time in `res.locals` (under symbols); the `route`
 * accessor and the recording `end` live on the app's request and response prototypes, installed by the
 * first request.
 *
 * @example
 * app.use(tallyExpress(tally, { ignore: ['/health'] }))
 */
export function tallyExpress(tally: Tally, options: ApiRequestOptions<Request> = {}): RequestHandler {
  const o = resolveApiRequestOptions<Request>(tally, options)
  return function tallyApiRequests(req: Marked, res: Recorded, next) {
    res.locals ??= Object.create(null) as Locals
    const locals = res.locals
    if (locals[OPTIONS] === undefined) {
      locals[OPTIONS] = o
      locals[START] = performance.now()
    }
    if (req[ROUTE_ACCESSOR] !== true) installRouteAccessor(req)
    if (res[END_WRAPPER] !== true) installEndWrapper(res)
    res.req ??= req
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
