/**
 * JSON text with object keys sorted (UTF-16 code units) and no whitespace; numbers as JS prints them. One
 * value, one text, whatever order its keys came in: statistics group by it (PostgreSQL's jsonb and SQLite
 * keep an object's keys in different orders), and the tracking plan compares schemas with it.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>
    const members = Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    return `{${members.join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}
