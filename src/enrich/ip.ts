/**
 * IP anonymisation, applied before anything is stored: IPv4 keeps its /24 (`203.0.113.77` → `203.0.113.0`),
 * IPv6 its /48 (`2001:db8:85a3:8d3:…` → `2001:db8:85a3::`), which is what Google Analytics and Matomo
 * do. An IPv4-mapped IPv6 address (`::ffff:203.0.113.77`, how a dual-stack socket reports IPv4 clients) is
 * treated as the IPv4 address it carries — a /48 would keep nothing of it. Returns null for anything that is
 * not an IP address (the caller drops it rather than store an unanonymised string).
 */
export function anonymiseIp(ip: string): string | null {
  const v4 = parseIpv4(ip)
  if (v4 !== null) return `${v4[0]}.${v4[1]}.${v4[2]}.0`
  const v6 = parseIpv6(ip)
  if (v6 === null) return null
  if (isIpv4Mapped(v6)) return `${v6[6] >> 8}.${v6[6] & 255}.${v6[7] >> 8}.0`
  // RFC 5952 form: the zero groups after the last kept non-zero one fold into the trailing "::".
  let keep = 3
  while (keep > 0 && v6[keep - 1] === 0) keep--
  let out = ''
  for (let i = 0; i < keep; i++) out += `${v6[i].toString(16)}:`
  return keep === 0 ? '::' : `${out}:`
}

/** The IP as stored when the project keeps raw IPs: as sent (brackets and zone removed), or null if invalid. */
export function normaliseRawIp(ip: string): string | null {
  if (parseIpv4(ip) !== null) return ip
  const v6 = parseIpv6(ip)
  if (v6 === null) return null
  if (isIpv4Mapped(v6)) return `${v6[6] >> 8}.${v6[6] & 255}.${v6[7] >> 8}.${v6[7] & 255}`
  return stripBracketsAndZone(ip)
}

/** The IP as the event store keeps it under the project's `storeRawIp`: anonymised by default. */
export function ipAsStored(ip: string, storeRawIp: boolean): string | null {
  return storeRawIp ? normaliseRawIp(ip) : anonymiseIp(ip)
}

/** Four octets, or null. Leading zeros are accepted as decimal (`010` is 10), as browsers log them. */
export function parseIpv4(ip: string): number[] | null {
  const len = ip.length
  if (len < 7 || len > 15) return null
  const out = [0, 0, 0, 0]
  let part = 0
  let digits = 0
  for (let i = 0; i < len; i++) {
    const c = ip.charCodeAt(i)
    if (c === 46 /* . */) {
      if (digits === 0 || part === 3) return null
      part++
      digits = 0
    } else if (c >= 48 && c <= 57) {
      if (++digits > 3) return null
      const n = out[part] * 10 + (c - 48)
      if (n > 255) return null
      out[part] = n
    } else return null
  }
  return part === 3 && digits > 0 ? out : null
}

/** Eight 16-bit groups, or null. Accepts `::` compression, a trailing dotted IPv4, `[…]` and a `%zone`. */
export function parseIpv6(ip: string): number[] | null {
  const s = stripBracketsAndZone(ip)
  if (s.length < 2 || s.length > 45 || s.indexOf(':') < 0) return null
  const halves = s.split('::')
  if (halves.length > 2) return null
  const head = halves[0] === '' ? [] : halves[0].split(':')
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1].split(':')) : []
  const groups: number[] = []
  const parseGroups = (list: string[], out: number[], allowV4Last: boolean): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i]
      if (allowV4Last && i === list.length - 1 && g.indexOf('.') >= 0) {
        const v4 = parseIpv4(g)
        if (v4 === null) return false
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3])
        continue
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false
      out.push(Number.parseInt(g, 16))
    }
    return true
  }
  const tailGroups: number[] = []
  if (!parseGroups(head, groups, halves.length === 1)) return null
  if (!parseGroups(tail, tailGroups, true)) return null
  if (halves.length === 1) return groups.length === 8 ? groups : null
  const missing = 8 - groups.length - tailGroups.length
  if (missing < 1) return null
  for (let i = 0; i < missing; i++) groups.push(0)
  groups.push(...tailGroups)
  return groups
}

function isIpv4Mapped(g: number[]): boolean {
  return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff
}

function stripBracketsAndZone(ip: string): string {
  let s = ip
  if (s.charCodeAt(0) === 91 /* [ */ && s.charCodeAt(s.length - 1) === 93) s = s.slice(1, -1)
  const zone = s.indexOf('%')
  return zone >= 0 ? s.slice(0, zone) : s
}
