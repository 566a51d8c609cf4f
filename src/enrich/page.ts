import type { EventContext } from '../schema/context.js'
import type { ValidationIssue } from '../schema/validation-issue.js'
import { type Campaign, mergeCampaign, parseUtmParams } from './campaign.js'
import { LruCache } from './lru-cache.js'
import { EMAIL_MEDIUMS, lookupReferrerHost, stripWww } from './referrer.js'
import type { ReferrerType } from './types.js'
import { splitUrl } from './url-split.js'

/** `context.page` as stored: as sent, plus the fields the enricher fills. */
export type EnrichedPage = NonNullable<EventContext['page']> & {
  host?: string
  referrerHost?: string
  referrerType?: ReferrerType
}

/** What a page URL tells, computed once per distinct URL. Frozen: events share it. */
interface UrlFacts {
  hostname: string
  /** `hostname` without `www.`, for the internal-referrer test. */
  bareHost: string
  path: string
  search: string
  utm: Campaign | null
}

/** What a referrer tells, computed once per distinct referrer string. */
interface ReferrerFacts {
  host: string
  /** `host` without `www.`. */
  bareHost: string
  /** The class from the referrer table (`search`, `social`, `email` or `other`); `internal` is decided per page. */
  type: ReferrerType
}

export const DEFAULT_URL_CACHE_SIZE = 5000

/**
 * The page step: from `context.page.url` fill `path`, `host` and `search` when missing and read UTM
 * parameters into the campaign (explicit campaign fields win); from `context.page.referrer` set
 * `referrerHost` and `referrerType`. A URL that is not absolute is left as sent and an `invalid_url` issue
 * is pushed to `issues`. Results per distinct URL and referrer are cached (pages and referrers repeat).
 */
/** Most characters of each page field, as the built-in schema allows in `context.page`. */
const PAGE_FIELD_LIMITS = { url: 8192, path: 4096, referrer: 8192, title: 2048, search: 8192 } as const

/**
 * A page event's `context.page` from its properties, when the client sent none: Segment's server-side
 * SDKs (analytics-node, Python, …) put the page's `url`, `path`, `referrer`, `search` and `title` in
 * `properties`, as its Page spec says, and only browsers fill `context.page`. Without this a server-side
 * page view had no path, host, campaign or referrer class. Strings only, within the schema's lengths.
 */
export function pageFromProperties(
  properties: Readonly<Record<string, unknown>>,
): Record<string, string> | null {
  let page: Record<string, string> | null = null
  for (const field of Object.keys(PAGE_FIELD_LIMITS) as (keyof typeof PAGE_FIELD_LIMITS)[]) {
    const value = properties[field]
    if (typeof value !== 'string' || value.length > PAGE_FIELD_LIMITS[field]) continue
    page ??= {}
    page[field] = value
  }
  return page
}

export function createPageEnricher(cacheSize = DEFAULT_URL_CACHE_SIZE) {
  const urls = new LruCache<string, UrlFacts | null>(cacheSize)
  // Per referrer string: its host and table class. This is `createReferrerClassifier`'s answer taken apart
  // (see referrer.ts): cached whole, a hit costs one Map lookup instead of a lookup, a `www.` slice and a
  // second lookup keyed by that fresh slice.
  const referrers = new LruCache<string, ReferrerFacts | null>(cacheSize)

  function urlFacts(url: string): UrlFacts | null {
    let facts = urls.get(url)
    if (facts === undefined) {
      const parts = splitUrl(url)
      facts =
        parts === null
          ? null
          : Object.freeze({
              hostname: parts.hostname,
              bareHost: stripWww(parts.hostname),
              path: parts.path,
              search: parts.search,
              utm: freezeOrNull(parseUtmParams(parts.search)),
            })
      urls.set(url, facts)
    }
    return facts
  }

  function referrerFacts(referrer: string): ReferrerFacts | null {
    let facts = referrers.get(referrer)
    if (facts === undefined) {
      const host = splitUrl(referrer)?.hostname ?? null
      if (host === null) facts = null
      else {
        const bareHost = stripWww(host)
        facts = Object.freeze({ host, bareHost, type: lookupReferrerHost(bareHost) })
      }
      referrers.set(referrer, facts)
    }
    return facts
  }

  return function enrichPage(
    sentPage: NonNullable<EventContext['page']>,
    sentCampaign: Campaign | undefined,
    issues: ValidationIssue[],
  ): { page: EnrichedPage; campaign: Campaign | null } {
    const page: EnrichedPage = { ...sentPage }
    let pageHost: string | null = null // without `www.`
    let utm: Campaign | null = null
    if (page.url !== undefined) {
      const facts = urlFacts(page.url)
      if (facts === null) {
        issues.push(invalidUrl('/context/page/url', page.url))
        if (page.search !== undefined) utm = parseUtmParams(page.search)
      } else {
        pageHost = facts.bareHost
        page.path ??= facts.path
        page.host ??= facts.hostname
        if (facts.search !== '') page.search ??= facts.search
        utm = facts.utm
      }
    } else if (page.search !== undefined) utm = parseUtmParams(page.search)
    const campaign = mergeCampaign(sentCampaign, utm)
    if (page.referrer !== undefined && page.referrer !== '') {
      const ref = referrerFacts(page.referrer)
      if (ref === null) issues.push(invalidUrl('/context/page/referrer', page.referrer))
      else {
        page.referrerHost = ref.host
        page.referrerType = pageHost !== null && ref.bareHost === pageHost ? 'internal' : ref.type
      }
    } else {
      const medium = campaign?.medium
      page.referrerType = medium !== undefined && EMAIL_MEDIUMS.has(medium.toLowerCase()) ? 'email' : 'direct'
    }
    return { page, campaign }
  }
}

function freezeOrNull<T extends object>(o: T | null): T | null {
  return o === null ? null : Object.freeze(o)
}

export function invalidUrl(path: string, value: string): ValidationIssue {
  return {
    path,
    code: 'invalid_url',
    message: `"${value.length > 80 ? `${value.slice(0, 80)}…` : value}" is not an absolute URL; kept as sent`,
    expected: 'scheme://host/path?query',
  }
}
