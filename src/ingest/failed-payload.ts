/** Deepest nesting a kept failed payload may have; deeper values are replaced by a marker. */
export const MAX_KEPT_DEPTH = 64
/** What replaces a value nested deeper than MAX_KEPT_DEPTH. */
export const TRUNCATED_MARKER = '[tally: nested too deep, truncated]'

/**
 * Makes a rejected event's payload safe to keep: a copy whose nesting is cut at `MAX_KEPT_DEPTH`.
 *
 * Why: the failed-event store keeps every rejected payload, and a hostile one can be nested so deep that
 * `JSON.stringify` overflows the stack — which would fail the whole group commit, taking other callers'
 * events down with it. Payloads within the limit (every event the validator did not refuse as
 * `too_deep`) are returned as they are, uncopied.
 */
export function keepablePayload(payload: unknown): unknown {
  if (!nestsDeeperThan(payload, MAX_KEPT_DEPTH)) return payload
  return copyToDepth(payload, MAX_KEPT_DEPTH)
}

function nestsDeeperThan(value: unknown, limit: number): boolean {
  // Iterative, so the check itself cannot overflow the stack.
  const stack: [unknown, number][] = [[value, 1]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (typeof v !== 'object' || v === null) continue
    if (depth > limit) return true
    for (const child of Object.values(v)) stack.push([child, depth + 1])
  }
  return false
}

function copyToDepth(value: unknown, remaining: number): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (remaining === 0) return TRUNCATED_MARKER
  if (Array.isArray(value)) return value.map((v) => copyToDepth(v, remaining - 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    // defineProperty: a `__proto__` key stays an own data property, never a prototype change.
    Object.defineProperty(out, k, {
      value: copyToDepth(v, remaining - 1),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}
