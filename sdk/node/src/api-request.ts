import { fragment } from './batch.js'
import { PendingBatch, type RareParts, registerFragment } from './pending.js'
import { RECORD_API_REQUEST, REPORT_ERROR, type Tally } from './tally.js'
import { type ApiRequestEvent, type Message, TallySdkError } from './types.js'

/** Route recorded for requests no route matched (404s), so raw paths never become routes. */
export const UNMATCHED_ROUTE = '(unmatched)'

/**
 * Options shared by the Fastify plugin and the Express middleware.
 *
 * @example
 * { ignore: ['/health', /^\/internal\//], sampleRate: 0.1, identify: (req) => ({ userId: req.user?.id }) }
 */
export interface ApiRequestOptions<Req = unknown> {
  /** Route templates not to record: exact strings or patterns tested against the template. Default none. */
  ignore?: (string | RegExp)[]
  /** Methods not to record. Default `['OPTIONS']`. */
  ignoreMethods?: string[]
  /** Share of requests recorded, 0–1. Default 1. */
  sampleRate?: number
  /** Record every 5xx even when sampled out. Default true. */
  alwaysRecordErrors?: boolean
  /** Also record the concrete path (it may hold ids). Default false. */
  includePath?: boolean
  /** Who made the request. Default `{ anonymousId: 'server' }`, also when it returns no id (anonymous). */
  identify?: (request: Req) => { userId?: string; anonymousId?: string } | undefined
  /** Replaced in tests; default Math.random. */
  random?: () => number
}

/** Options after defaults, with the ignore list split for a cheap per-request check. */
export interface ResolvedApiRequestOptions<Req> {
  tally: Tally
  exact: Set<string>
  patterns: RegExp[]
  ignoreMethods: Set<string>
  sampleRate: number
  alwaysRecordErrors: boolean
  includePath: boolean
  identify: ((request: Req) => { userId?: string; anonymousId?: string } | undefined) | undefined
  random: () => number
  /** Route template → its fragment, or null when ignored; filled as routes are seen. */
  routes: Map<string, Fragment | null>
}

export function resolveApiRequestOptions<Req>(
  tally: Tally,
  options: ApiRequestOptions<Req> = {},
): ResolvedApiRequestOptions<Req> {
  const ignore = options.ignore ?? []
  return {
    tally,
    exact: new Set(ignore.filter((i): i is string => typeof i === 'string')),
    patterns: ignore.filter((i): i is RegExp => i instanceof RegExp),
    ignoreMethods: new Set((options.ignoreMethods ?? ['OPTIONS']).map((m) => m.toUpperCase())),
    sampleRate: Math.min(1, Math.max(0, options.sampleRate ?? 1)),
    alwaysRecordErrors: options.alwaysRecordErrors ?? true,
    includePath: options.includePath ?? false,
    identify: options.identify,
    random: options.random ?? Math.random,
    routes: new Map(),
  }
}

/** Most route templates whose ignore decision and JSON are kept (apps have tens; this bounds a misuse). */
const MAX_CACHED_ROUTES = 10_000

/** Pre-encoded JSON and its number in the batches' fragment table (-1: not registered, carried instead). */
interface Fragment {
  id: number
  bytes: Buffer
}
function newFragment(text: string, register: boolean): Fragment {
  const bytes = fragment(text)
  return { id: register ? registerFragment(bytes) : -1, bytes }
}

/** A method's `,"properties":{"method":"GET"`, and the same after the event's head and the server identity. */
interface MethodFragments {
  properties: Fragment
  withServerHead: Fragment
}
const METHODS = new Map<string, MethodFragments>()
for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'])
  METHODS.set(m, methodFragments(m, true))
function methodFragments(method: string, register: boolean): MethodFragments {
  const properties = `,"properties":{"method":${JSON.stringify(method)}`
  return {
    properties: newFragment(properties, register),
    // The default identity: who made the request is "the server".
    withServerHead: newFragment(`{"type":"api_request","anonymousId":"server"${properties}`, register),
  }
}

type ApiMethod = Message<'api_request'>['properties']['method']

/**
 * `,"route":<JSON>,"statusCode":` of `route`, or null when the options ignore it; decided and registered
 * once per template (past MAX_CACHED_ROUTES a fragment is made per request and carried with the event).
 */
function routeFragment<Req>(o: ResolvedApiRequestOptions<Req>, route: string): Fragment | null {
  const cached = o.routes.get(route)
  if (cached !== undefined) return cached
  const cache = o.routes.size < MAX_CACHED_ROUTES
  let result: Fragment | null = null
  if (!o.exact.has(route) && !o.patterns.some((pattern) => pattern.test(route)))
    result = newFragment(`,"route":${JSON.stringify(route)},"statusCode":`, cache)
  if (cache) o.routes.set(route, result)
  return result
}

function byteCount(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined
  if (typeof value !== 'string' || value === '') return undefined
  const n = Number(value)
  return Number.isInteger(n) && n >= 0 ? n : undefined
}

function errorClass(error: unknown): string | undefined {
  if (error == null) return undefined
  if (typeof error === 'string') return error
  if (error instanceof Error)
    return error.constructor?.name && error.constructor.name !== 'Error' ? error.constructor.name : error.name
  return typeof error
}

/**
 * `,"userId":…,"anonymousId":…` of what `identify` returned; undefined when it names no one (an anonymous
 * request: the default identity applies, as without `identify` — `identify: (req) => ({ userId:
 * req.user?.id })` dropped every anonymous request as missing_identity); null when it holds something other
 * than strings and numbers (the object path then reports or serialises it). Made before the event is begun,
 * so nothing can fail half-way through writing it.
 */
function identityJson(who: { userId?: unknown; anonymousId?: unknown }): string | null | undefined {
  const userId = idJson(who.userId)
  const anonymousId = idJson(who.anonymousId)
  if (userId === null || anonymousId === null) return null
  if (userId === '' && anonymousId === '') return undefined
  return (userId && `,"userId":${userId}`) + (anonymousId && `,"anonymousId":${anonymousId}`)
}

/** An id as JSON; '' when absent, null when it is neither a string nor a finite number. */
function idJson(id: unknown): string | null {
  if (id == null) return ''
  if (typeof id === 'string') return JSON.stringify(id)
  if (typeof id === 'number' && Number.isFinite(id)) return `${id}`
  return null
}

/**
 * Applies ignore, sampling and identity, and queues the `api_request` event
 * `{ method, route, statusCode, durationMs, path?, requestBytes?, responseBytes?, error? }` as its parts:
 * pre-encoded fragments for the method and the route (a route's made once, when first seen), the numbers,
 * and JSON only for what varies per request and is rare (identity from `identify`, path, error class).
 * The batch writes the JSON when it is sent (PendingBatch.format). Positional arguments, so the hooks
 * allocate nothing to call it.
 *
 * @param url the raw URL, recorded as `path` (without the query) when `includePath` is on
 * @param durationMs time to respond, ms (high resolution; recorded to the microsecond)
 * @param requestBytes Content-Length of the request (string or number; anything else is left out)
 * @param responseBytes Content-Length of the response
 * @param error the error of a failed request: its class is recorded (a string is recorded as it is)
 */
export function recordApiRequest<Req>(
  o: ResolvedApiRequestOptions<Req>,
  request: Req,
  method: string,
  route: string,
  url: string,
  statusCode: number,
  durationMs: number,
  requestBytes: unknown,
  responseBytes: unknown,
  error: unknown,
): void {
  let methodBytes = METHODS.get(method)
  if (methodBytes === undefined) {
    method = String(method).toUpperCase()
    methodBytes = METHODS.get(method) ?? methodFragments(method, false)
  }
  if (o.ignoreMethods.has(method)) return
  const routeBytes = routeFragment(o, route)
  if (routeBytes === null) return
  if (o.sampleRate < 1 && !(statusCode >= 500 && o.alwaysRecordErrors) && o.random() >= o.sampleRate) return
  const who = identifyOrReport(o, request)
  const identity = who == null ? undefined : identityJson(who)
  if (identity !== null) {
    let extra: string | undefined
    if (o.includePath) {
      const q = url.indexOf('?')
      extra = `,"path":${JSON.stringify(q === -1 ? url : url.slice(0, q))}`
    }
    const errorName = errorClass(error)
    if (errorName !== undefined) extra = `${extra ?? ''},"error":${JSON.stringify(errorName)}`
    const head = identity === undefined ? methodBytes.withServerHead : methodBytes.properties
    let rare: RareParts | undefined
    if (identity !== undefined || extra !== undefined || head.id < 0 || routeBytes.id < 0) {
      rare = { identity, extra }
      if (head.id < 0) rare.head = head.bytes
      if (routeBytes.id < 0) rare.route = routeBytes.bytes
    }
    const queued = o.tally[RECORD_API_REQUEST](
      head.id,
      routeBytes.id,
      statusCode,
      durationMs,
      byteCount(requestBytes) ?? -1,
      byteCount(responseBytes) ?? -1,
      rare,
      PendingBatch.apiRequestBytes(head.bytes, routeBytes.bytes, identity, extra),
    )
    if (queued) return
  }
  // Names no one, holds odd ids, or the client is closed or full: the object path reports or handles it —
  // with the same fields and the default identity where `identify` named no one (it spread
  // `{ userId: undefined }` and reported a full queue as missing_identity, once per request).
  const properties: Record<string, unknown> = { method: method as ApiMethod, route, statusCode, durationMs }
  if (o.includePath) {
    const q = url.indexOf('?')
    properties.path = q === -1 ? url : url.slice(0, q)
  }
  const reqBytes = byteCount(requestBytes)
  const resBytes = byteCount(responseBytes)
  if (reqBytes !== undefined) properties.requestBytes = reqBytes
  if (resBytes !== undefined) properties.responseBytes = resBytes
  const errorName = errorClass(error)
  if (errorName !== undefined) properties.error = errorName
  const named = who != null && (who.userId != null || who.anonymousId != null)
  o.tally.apiRequest({
    ...((named ? who : { anonymousId: 'server' }) as Omit<Message<'api_request'>, 'properties'>),
    properties: properties as ApiRequestEvent['properties'],
  })
}

/**
 * `identify(request)`, or undefined (the default identity) when it throws — reported as `identify_failed`:
 * it ran inside the app's `res.end()`, so an `identify` reading `req.user.id` without a user turned the
 * app's answer into a 500, or crashed the process when the end came from a stream (a trial).
 */
function identifyOrReport<Req>(
  o: ResolvedApiRequestOptions<Req>,
  request: Req,
): { userId?: unknown; anonymousId?: unknown } | undefined | null {
  if (o.identify === undefined) return undefined
  try {
    return o.identify(request)
  } catch (err) {
    o.tally[REPORT_ERROR](
      new TallySdkError(
        'identify_failed',
        `identify() threw; the request is recorded without it: ${String(err)}`,
        {},
        { cause: err },
      ),
    )
    return undefined
  }
}
