/** `context.campaign` as stored. */
export interface Campaign {
  source?: string
  medium?: string
  name?: string
  term?: string
  content?: string
}

/** UTM parameter (lower case) → campaign field. `utm_campaign` is the campaign's `name`, as in Segment. */
const UTM_FIELDS: ReadonlyMap<string, keyof Campaign> = new Map([
  ['utm_source', 'source'],
  ['utm_medium', 'medium'],
  ['utm_campaign', 'name'],
  ['utm_term', 'term'],
  ['utm_content', 'content'],
])
const HAS_UTM = /utm_/i

/**
 * Reads UTM parameters from a query string (`?a=1&utm_source=x`). Keys match case-insensitively
 * (`UTM_Source`), a repeated parameter keeps its first value, values are URL-decoded (`+` is a space; a
 * malformed escape leaves the value as sent) and empty values are ignored. Null when there are none.
 */
export function parseUtmParams(search: string): Campaign | null {
  if (search.length < 6 || !HAS_UTM.test(search)) return null
  let campaign: Campaign | null = null
  let i = search.charCodeAt(0) === 63 /* ? */ ? 1 : 0
  const len = search.length
  while (i < len) {
    let end = search.indexOf('&', i)
    if (end < 0) end = len
    // Only a pair starting with "utm_" (any case) is looked at further.
    if (end - i > 5 && (search.charCodeAt(i) | 32) === 117 && (search.charCodeAt(i + 1) | 32) === 116) {
      const eq = search.indexOf('=', i)
      if (eq > i && eq < end - 1) {
        const field = UTM_FIELDS.get(search.slice(i, eq).toLowerCase())
        if (field !== undefined) {
          campaign ??= {}
          if (campaign[field] === undefined) campaign[field] = decodeParam(search.slice(eq + 1, end))
        }
      }
    }
    i = end + 1
  }
  return campaign
}

/**
 * Merges UTM values under the campaign the client sent: an explicit field wins over the URL's. Returns the
 * explicit object itself when nothing is added, and null when there is neither.
 */
export function mergeCampaign(explicit: Campaign | undefined, fromUrl: Campaign | null): Campaign | null {
  if (fromUrl === null) return explicit ?? null
  if (explicit === undefined) return fromUrl
  return { ...fromUrl, ...explicit }
}

function decodeParam(value: string): string {
  if (value.indexOf('%') < 0 && value.indexOf('+') < 0) return value
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    return value
  }
}
