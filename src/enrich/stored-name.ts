import { apiRequestName, normaliseRoute } from './api-request.js'
import { collapseWhitespace, type NameCase, normaliseName } from './names.js'

/** Types whose names follow the project's case policy (`nameCase`); others are only trimmed and collapsed. */
export const NAME_CASED_TYPES: ReadonlySet<string> = new Set(['track', 'page', 'screen'])

/**
 * The name an event is stored under: trimmed, whitespace collapsed, the project's case policy for
 * track/page/screen; an `api_request` without its own name (or with the one derived from the route as
 * sent) is `"METHOD route"` from the normalised method and route. Null when nothing is left.
 *
 * One function for the formatter, which stores it, and the tracking plan, which looks the schema up by
 * it: with two copies, `"Order  Completed"` was stored as `Order Completed` but checked as unplanned.
 */
export function storedEventName(
  event: { type: string; name?: unknown; properties?: unknown },
  nameCase: NameCase,
): string | null {
  let name: string | null = null
  if (typeof event.name === 'string') {
    name = NAME_CASED_TYPES.has(event.type)
      ? normaliseName(event.name, nameCase)
      : collapseWhitespace(event.name)
    if (name === '') name = null
  }
  if (event.type === 'api_request') {
    const properties = (event.properties ?? {}) as Record<string, unknown>
    const sentMethod = String(properties.method)
    const sentRoute = String(properties.route)
    if (name === null || name === apiRequestName(sentMethod, sentRoute))
      name = apiRequestName(sentMethod.toUpperCase(), normaliseRoute(sentRoute))
  }
  return name
}
