import type { FastifyInstance } from 'fastify'
import FindMyWay, { type HTTPMethod } from 'find-my-way'
import { AppError } from '../../errors/app-error.js'

/**
 * Which methods a path answers to, for the 405 of a request whose path exists under another method
 * (`GET /api/v1/events/query`, `DELETE /api/v1/schemas`): a 404 "No route" there sent users looking for a
 * typo. A second find-my-way router (Fastify's own router, so paths match exactly as Fastify matches them)
 * mirrors every route as it is added. Wildcard routes (the dashboard's `/*`) are left out: they answer any
 * GET, and would turn every unknown POST into "only GET allowed".
 */
/**
 * The methods other than `method` whose routes match `url`; empty when the path is unknown. `exactOnly`:
 * only those whose route names the path exactly (no parameter).
 */
export type AllowedMethods = (method: string, url: string, exactOnly?: boolean) => string[]

/**
 * A request a parametric route took although another method has a route naming its path exactly —
 * `GET /api/v1/events/query` read as the event "query" (404 "No event query") where `POST` is the route —
 * is answered 405 with `Allow`, as a path with no route for its method is.
 */
export function refuseShadowedMethods(app: FastifyInstance, allowedMethods: AllowedMethods): void {
  app.addHook('onRequest', async function shadowedMethod(request, reply) {
    const route = request.routeOptions.url
    if (route === undefined || !route.includes(':')) return
    const exact = allowedMethods(request.method, request.url, true)
    if (exact.length === 0) return
    const path = request.url.split('?')[0]
    reply.header('allow', exact.join(', '))
    throw new AppError(
      'method_not_allowed',
      `${request.method} is not allowed on ${path}; use ${exact.join(', ')}`,
    )
  })
}

/** Call before any route is registered: it sees routes through the `onRoute` hook. */
export function trackAllowedMethods(app: FastifyInstance): AllowedMethods {
  const router = FindMyWay({ ignoreTrailingSlash: true, maxParamLength: 8192 })
  const methods = new Set<HTTPMethod>()
  const noop = () => {}
  app.addHook('onRoute', function mirrorRoute(route) {
    if (route.url.includes('*')) return
    for (const method of ([] as string[]).concat(route.method).map((m) => m.toUpperCase() as HTTPMethod)) {
      if (router.hasRoute(method, route.url)) continue
      router.on(method, route.url, noop)
      methods.add(method)
    }
  })
  return (method, url, exactOnly = false) => {
    const allowed: { method: string; exact: boolean }[] = []
    for (const candidate of methods) {
      if (candidate === method) continue
      const found = router.find(candidate, url)
      if (found !== null) allowed.push({ method: candidate, exact: Object.keys(found.params).length === 0 })
    }
    // A path some route names exactly (`/api/v1/events/export`) is that route's: that `/events/:id` would
    // also take it as an id under DELETE or PATCH ("No event export") is no method to offer.
    const exact = exactOnly || allowed.some((a) => a.exact)
    return allowed
      .filter((a) => a.exact || !exact)
      .map((a) => a.method)
      .sort()
  }
}
