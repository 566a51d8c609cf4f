import type {
  FastifyInstance,
  FastifyRequest,
  onRequestAsyncHookHandler,
  preValidationAsyncHookHandler,
} from 'fastify'
import { AppError } from '../../errors/app-error.js'
import type { ApiKeyRole } from '../../store/event-store.js'
import { type ApiKeyResolver, type AuthContext, ROLE_GRANTS } from '../auth/api-keys.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hooks: the project and role the request acts as. */
    auth?: AuthContext
  }
  interface FastifyContextConfig {
    /** A Segment tracking-API route: Segment's statuses (an oversized body is 400, not 413). */
    segmentApi?: boolean
  }
}

/** The request's auth context; throws if the route forgot its auth hook (a bug, not a client error). */
export function authOf(request: FastifyRequest): AuthContext {
  if (!request.auth) throw new Error(`route ${request.routeOptions.url} has no auth hook`)
  return request.auth
}

function bearerSecret(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  if (!match) throw new AppError('unauthorized', 'Authorization must be "Bearer <key>"')
  return match[1]
}

/** Segment sends `Basic base64(writeKey + ":")`; some clients send the key as password instead. */
function basicSecret(header: string): string | undefined {
  const match = /^Basic[ \t]+([A-Za-z0-9+/=_-]+)[ \t]*$/i.exec(header)
  if (!match) return undefined
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  const user = colon === -1 ? decoded : decoded.slice(0, colon)
  const password = colon === -1 ? '' : decoded.slice(colon + 1)
  return user || password || undefined
}

async function authorize(
  resolver: ApiKeyResolver,
  secret: string | undefined,
  role: ApiKeyRole,
): Promise<AuthContext> {
  if (!secret) throw new AppError('unauthorized', 'Missing API key')
  const auth = await resolver.resolve(secret)
  if (!auth) throw new AppError('unauthorized', 'Unknown or revoked API key')
  if (!ROLE_GRANTS[auth.role].includes(role)) {
    throw new AppError(
      'forbidden',
      `${withArticle(auth.role, true)} key may not do this; it needs ${withArticle(role)} key`,
    )
  }
  return auth
}

/** onRequest hook for the native API: `Authorization: Bearer <key>` with a key granting `role`. */
export function requireBearer(resolver: ApiKeyResolver, role: ApiKeyRole): onRequestAsyncHookHandler {
  return async function bearerAuth(request) {
    assertOneAuthorization(request)
    request.auth = await authorize(resolver, bearerSecret(request.headers.authorization), role)
  }
}

/**
 * Node keeps only the first of several `Authorization` headers, so (good, bad) passed and (bad, good) did
 * not: a request naming two credentials is refused whatever their order.
 */
function assertOneAuthorization(request: FastifyRequest): void {
  const raw = request.raw.rawHeaders
  let seen = 0
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 13 && raw[i].toLowerCase() === 'authorization' && ++seen > 1) {
      throw new AppError('unauthorized', 'Send one Authorization header, not several')
    }
  }
}

/**
 * preValidation hook for the Segment routes (runs after the body is parsed): Basic auth with the write key
 * as user name, a Bearer key, or `writeKey` in the body — in that order.
 */
export function requireSegmentKey(resolver: ApiKeyResolver): preValidationAsyncHookHandler {
  return async function segmentAuth(request) {
    assertOneAuthorization(request)
    const header = request.headers.authorization
    let secret: string | undefined
    if (header !== undefined) {
      secret = /^Basic\b/i.test(header) ? basicSecret(header) : bearerSecret(header)
      // A credential that is there but unreadable is refused, as on every route: falling back to a body
      // writeKey would let a broken header pass unnoticed (docs/api.md: malformed Authorization → 401).
      if (!secret) throw new AppError('unauthorized', 'Authorization must be "Basic base64(<write key>:)"')
    }
    if (!secret) secret = bodyWriteKey(request)
    request.auth = await authorize(resolver, secret, 'write')
  }
}

/** "a write", "an admin" — capitalised at the start of a sentence. */
function withArticle(word: string, capital = false): string {
  const article = /^[aeiou]/i.test(word) ? 'an' : 'a'
  return `${capital ? article[0].toUpperCase() + article.slice(1) : article} ${word}`
}

export interface AuthFailureLimitOptions {
  /** Failed authentications allowed per IP and window. */
  max: number
  windowMs: number
  /** Most addresses tracked at once; the oldest window is dropped beyond it. Default 100,000. */
  maxAddresses?: number
  /**
   * Keys this process already confirmed pass even from a limited IP (a NAT'd office where one client sends
   * a wrong key must not lock out the others), however long ago. Only the resolver's cache is asked before
   * letting the request on to authenticate as usual.
   */
  resolver?: ApiKeyResolver
}

/** The secret of an `Authorization` header (Bearer, or Basic as Segment sends it), without throwing. */
function presentedSecret(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  try {
    return /^Basic\b/i.test(header) ? basicSecret(header) : bearerSecret(header)
  } catch {
    return undefined
  }
}

/** Whether the request is for a Segment route (whose write key may come in the body). */
function isSegmentRoute(request: FastifyRequest): boolean {
  return (request.routeOptions.config as { segmentApi?: boolean } | undefined)?.segmentApi === true
}

/** A Segment body's `writeKey` (the body is parsed by preValidation), if it has one. */
function bodyWriteKey(request: FastifyRequest): string | undefined {
  const body = request.body as { writeKey?: unknown } | undefined
  return body && typeof body === 'object' && typeof body.writeKey === 'string' ? body.writeKey : undefined
}

/**
 * The rate limiter's bucket for a request: its API key, else the client IP. Runs before validation, so the
 * requests validation refuses count too (a client retrying a bad request was never limited). Native routes
 * have authenticated by then (onRequest): their key id, at no cost. The Segment routes authenticate later
 * (their key may be in the body): the key presented, through the resolver's hash (a wrong key's requests
 * are 401s, which the per-IP failure limit counts).
 */
export function rateLimitBucketFor(resolver: ApiKeyResolver): (request: FastifyRequest) => string {
  return function rateLimitBucket(request) {
    if (request.auth) return `key:${request.auth.keyId}`
    const secret = presentedSecret(request.headers.authorization) || bodyWriteKey(request)
    return secret ? `key:${resolver.bucketOf(secret)}` : `ip:${request.ip}`
  }
}

/**
 * Limits key guessing: every 401 answered under `api` counts against the client IP, and once an IP has
 * `max` of them in a window its requests get 429 + Retry-After in onRequest — before any key is looked up —
 * until the window ends — except for a key the resolver's cache already holds as valid, so one client's
 * wrong key does not lock out others behind the same address. On the Segment routes a request without an
 * `Authorization` header is judged by its body's `writeKey` once the body is read (browsers send the key
 * there: one misconfigured client behind a NAT locked every page's tracking out). A request with a valid
 * key costs one Map lookup; only failures are recorded.
 */
export function registerAuthFailureLimit(api: FastifyInstance, options: AuthFailureLimitOptions): void {
  const { max, windowMs } = options
  // Requests from a limited address whose key can only be in the body: checked in preValidation.
  const keyInBodyAwaited = new WeakSet<FastifyRequest>()
  const maxAddresses = options.maxAddresses ?? 100_000
  // Insertion order is window start order: the first entry is always the oldest.
  const failures = new Map<string, { count: number; resetAt: number }>()

  api.addHook('onRequest', async function authFailureLimit(request) {
    const entry = failures.get(request.ip)
    if (entry === undefined || entry.count < max) return
    const now = Date.now()
    if (entry.resetAt <= now) {
      failures.delete(request.ip)
      return
    }
    const secret = presentedSecret(request.headers.authorization)
    if (secret !== undefined && options.resolver?.isConfirmed(secret) === true) return
    // A Segment route may carry its key in the body (Analytics.js, beacons): judged once the body is read.
    if (secret === undefined && isSegmentRoute(request)) {
      keyInBodyAwaited.add(request)
      return
    }
    throw limited(entry.resetAt - now)
  })

  api.addHook('preValidation', async function authFailureLimitForBodyKeys(request) {
    if (!keyInBodyAwaited.has(request)) return
    const secret = bodyWriteKey(request)
    if (secret !== undefined && options.resolver?.isConfirmed(secret) === true) return
    throw limited((failures.get(request.ip)?.resetAt ?? Date.now()) - Date.now())
  })

  function limited(remainingMs: number): AppError {
    const seconds = Math.max(1, Math.ceil(remainingMs / 1000))
    return new AppError(
      'rate_limited',
      `Too many requests with a missing or wrong API key from this address (limit ${max}); retry in ${seconds} s`,
      { retryAfterSeconds: seconds },
    )
  }

  api.addHook('onResponse', async function countAuthFailure(request, reply) {
    if (reply.statusCode !== 401) return
    const now = Date.now()
    const entry = failures.get(request.ip)
    if (entry !== undefined && entry.resetAt > now) {
      entry.count++
      return
    }
    if (entry !== undefined) failures.delete(request.ip)
    if (failures.size >= maxAddresses) {
      const oldest = failures.keys().next()
      if (!oldest.done) failures.delete(oldest.value)
    }
    failures.set(request.ip, { count: 1, resetAt: now + windowMs })
  })
}
