import type { Tally } from './tally.js'
import type { Message } from './types.js'

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
  /** Who made the request. Default `{ anonymousId: 'server' }`. */
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
  }
}

/** What one finished request was, as the frameworks expose it. */
export interface FinishedRequest {
  method: string
  route: string
  url: string
  statusCode: number
  /** Time to respond, ms (high resolution: Fastify's `reply.elapsedTime`, `process.hrtime` in Express). */
  durationMs: number
  requestBytes: unknown
  responseBytes: unknown
  error: unknown
}

const SERVER_IDENTITY = { anonymousId: 'server' }

function byteCount(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined
  if (typeof value !== 'string' || value === '') return undefined
  const n = Number(value)
  return Number.isInteger(n) && n >= 0 ? n : undefined
}

function errorClass(error: unknown): string | undefined {
  if (error == null) return undefined
  if (error instanceof Error)
    return error.constructor?.name && error.constructor.name !== 'Error' ? error.constructor.name : error.name
  return typeof error
}

/** Applies ignore, sampling and identity, and queues the `api_request` event. */
export function recordApiRequest<Req>(
  o: ResolvedApiRequestOptions<Req>,
  request: Req,
  done: FinishedRequest,
): void {
  const durationMs = done.durationMs
  const method = done.method.toUpperCase()
  if (o.ignoreMethods.has(method) || o.exact.has(done.route)) return
  for (const pattern of o.patterns) if (pattern.test(done.route)) return
  const isError = done.statusCode >= 500
  if (o.sampleRate < 1 && !(isError && o.alwaysRecordErrors) && o.random() >= o.sampleRate) return
  const identity = (o.identify ? o.identify(request) : undefined) ?? SERVER_IDENTITY
  const properties: Message<'api_request'>['properties'] = {
    method: method as Message<'api_request'>['properties']['method'],
    route: done.route,
    statusCode: done.statusCode,
    durationMs,
  }
  if (o.includePath) {
    const q = done.url.indexOf('?')
    properties.path = q === -1 ? done.url : done.url.slice(0, q)
  }
  const requestBytes = byteCount(done.requestBytes)
  if (requestBytes !== undefined) properties.requestBytes = requestBytes
  const responseBytes = byteCount(done.responseBytes)
  if (responseBytes !== undefined) properties.responseBytes = responseBytes
  const error = errorClass(done.error)
  if (error !== undefined) properties.error = error
  o.tally.apiRequest({ ...identity, properties })
}
