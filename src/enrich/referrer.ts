import { LruCache } from './lru-cache.js'
import type { ReferrerType } from './types.js'

/**
 * Which referrer hosts count as what. A host matches a rule when it equals the domain or is a subdomain of
 * it; `brand.*` rules match the brand under any top-level domain (`google.co.uk`, `yandex.ru`). More
 * specific rules come first (mail.google.com is e-mail, google.com is search). Kept small on purpose:
 * enough for the big sources, documented in docs/enrichment.md, easy to extend.
 */
export const REFERRER_RULES: ReadonlyArray<
  readonly [pattern: string, type: Exclude<ReferrerType, 'internal' | 'direct' | 'other'>]
> = [
  // e-mail web clients (before their search siblings)
  ['mail.google.com', 'email'],
  ['mail.yahoo.com', 'email'],
  ['outlook.live.com', 'email'],
  ['outlook.office.com', 'email'],
  ['outlook.office365.com', 'email'],
  ['mail.proton.me', 'email'],
  ['com.google.android.gm', 'email'],
  // search engines
  ['google.*', 'search'],
  ['bing.com', 'search'],
  ['duckduckgo.com', 'search'],
  ['yahoo.*', 'search'],
  ['yandex.*', 'search'],
  ['baidu.com', 'search'],
  ['ecosia.org', 'search'],
  ['search.brave.com', 'search'],
  ['startpage.com', 'search'],
  ['qwant.com', 'search'],
  ['naver.com', 'search'],
  ['com.google.android.googlequicksearchbox', 'search'],
  // social networks and link shorteners they use
  ['facebook.com', 'social'],
  ['fb.com', 'social'],
  ['instagram.com', 'social'],
  ['t.co', 'social'],
  ['twitter.com', 'social'],
  ['x.com', 'social'],
  ['linkedin.com', 'social'],
  ['lnkd.in', 'social'],
  ['reddit.com', 'social'],
  ['pinterest.*', 'social'],
  ['tiktok.com', 'social'],
  ['youtube.com', 'social'],
  ['youtu.be', 'social'],
  ['news.ycombinator.com', 'social'],
  ['threads.net', 'social'],
  ['bsky.app', 'social'],
  ['mastodon.social', 'social'],
  ['vk.com', 'social'],
  ['weibo.com', 'social'],
]

/** `utm_medium` values that mark a visit from an e-mail when the browser sent no referrer. */
/** `utm_medium` values (lower case) that make a visit without a referrer an e-mail visit. */
export const EMAIL_MEDIUMS: ReadonlySet<string> = new Set(['email', 'e-mail', 'e_mail', 'newsletter'])

/**
 * Classifies a referrer. `referrerHost` is null when there was no referrer (→ `direct`, or `email` when the
 * campaign medium says so: mail clients send no referrer). `internal` means the same host as the page,
 * ignoring a leading `www.`.
 */
export function createReferrerClassifier(capacity = 1000) {
  const cache = new LruCache<string, ReferrerType>(capacity)
  return function classifyReferrer(
    referrerHost: string | null,
    pageHost: string | null,
    campaignMedium?: string,
  ): ReferrerType {
    if (referrerHost === null) {
      return campaignMedium !== undefined && EMAIL_MEDIUMS.has(campaignMedium.toLowerCase())
        ? 'email'
        : 'direct'
    }
    const host = stripWww(referrerHost)
    if (pageHost !== null && host === stripWww(pageHost)) return 'internal'
    let type = cache.get(host)
    if (type === undefined) {
      type = lookupReferrerHost(host)
      cache.set(host, type)
    }
    return type
  }
}

/** The table lookup for a host (lower case, without `www.`); `other` when no rule matches. */
export function lookupReferrerHost(host: string): ReferrerType {
  for (const [pattern, type] of REFERRER_RULES) {
    if (pattern.endsWith('.*')) {
      const brand = pattern.slice(0, -2)
      // brand.tld, brand.co.uk, sub.brand.tld — the brand label followed by at most two short labels.
      const inner = host.indexOf(`.${brand}.`)
      const at = host.startsWith(`${brand}.`) ? 0 : inner < 0 ? -1 : inner + 1
      if (at >= 0 && TLD.test(host.slice(at + brand.length + 1))) return type
    } else if (host === pattern || host.endsWith(`.${pattern}`)) {
      return type
    }
  }
  return 'other'
}

const TLD = /^[a-z]{2,3}(\.[a-z]{2,3})?$/

/** The host without a leading `www.`. */
export function stripWww(host: string): string {
  return host.startsWith('www.') ? host.slice(4) : host
}
