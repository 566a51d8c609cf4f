import type { Persistence } from './types.js'

/** A tiny key/value store over localStorage, a first-party cookie, or memory. */
export interface KeyValue {
  get(key: string): string | null
  set(key: string, value: string): void
  del(key: string): void
  /** True when values outlive the page (and may hold the offline queue). */
  readonly durable: boolean
}

function memory(): KeyValue {
  const map = new Map<string, string>()
  return {
    get: (k) => map.get(k) ?? null,
    set: (k, v) => void map.set(k, v),
    del: (k) => void map.delete(k),
    durable: false,
  }
}

/** localStorage, or null where it is missing or throws (Safari private mode, blocked storage). */
export function local(): KeyValue | null {
  try {
    const ls = window.localStorage
    ls.setItem('tally_t', '1')
    ls.removeItem('tally_t')
    return {
      get: (k) => ls.getItem(k),
      set: (k, v) => {
        try {
          ls.setItem(k, v)
        } catch {
          // quota: the value is simply not kept
        }
      },
      del: (k) => ls.removeItem(k),
      durable: true,
    }
  } catch {
    return null
  }
}

function cookie(domain?: string): KeyValue {
  const write = (k: string, v: string, maxAge: number) => {
    // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is missing in Firefox and older Safari
    document.cookie = `${k}=${encodeURIComponent(v)};path=/;max-age=${maxAge};SameSite=Lax${domain ? `;domain=${domain}` : ''}${location.protocol === 'https:' ? ';Secure' : ''}`
  }
  return {
    get(k) {
      const m = document.cookie.match(new RegExp(`(?:^|; )${k}=([^;]*)`))
      return m ? decodeURIComponent(m[1]) : null
    },
    set: (k, v) => write(k, v, 31_536_000),
    del: (k) => write(k, '', 0),
    durable: false,
  }
}

/** The store for a persistence mode: localStorage falls back to a cookie, `none` keeps ids in memory only. */
export function openStore(mode: Persistence, cookieDomain?: string): KeyValue {
  if (mode === 'none') return memory()
  if (mode === 'localStorage') {
    const ls = local()
    if (ls) return ls
  }
  try {
    // biome-ignore lint/suspicious/noDocumentCookie: probing whether cookies work at all
    document.cookie = 'tally_t=1;path=/'
    if (document.cookie.includes('tally_t=1')) {
      // biome-ignore lint/suspicious/noDocumentCookie: removing the probe
      document.cookie = 'tally_t=;path=/;max-age=0'
      return cookie(cookieDomain)
    }
  } catch {
    // cookies blocked (sandboxed frame)
  }
  return memory()
}

/** A random UUIDv4 (crypto.randomUUID is missing on plain-http origins; getRandomValues is not). */
export function uuid(): string {
  return (
    crypto.randomUUID?.() ??
    '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (c) =>
      (+c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (+c / 4)))).toString(16),
    )
  )
}
