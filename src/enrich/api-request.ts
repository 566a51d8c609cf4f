/**
 * Normalises an API route template: query and fragment stripped, trailing slashes removed (except for the
 * root `/`), so `/users/:id/?x=1` and `/users/:id` are counted as one route.
 */
export function normaliseRoute(route: string): string {
  let end = route.length
  const q = route.indexOf('?')
  if (q >= 0) end = q
  const h = route.indexOf('#')
  if (h >= 0 && h < end) end = h
  while (end > 1 && route.charCodeAt(end - 1) === 47 /* / */) end--
  const out = end === route.length ? route : route.slice(0, end)
  return out.length === 0 ? '/' : out
}

/** The name of an `api_request` event that has none: `"METHOD route"`, e.g. `GET /users/:id`. */
export function apiRequestName(method: string, route: string): string {
  return `${method} ${route}`
}
