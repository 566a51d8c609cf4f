import type { ValidationLimits } from '../config/limits.js'
import { escapePointer, type IssueList } from './issue-list.js'

/**
 * The hostile-input walk: one iterative pass over an event, before any schema runs, that refuses what
 * could hurt the process or the stores — too deep, too many keys, too big, `__proto__`-style keys,
 * non-finite numbers, lone surrogates and NUL (PostgreSQL cannot store U+0000) — and estimates the
 * serialised size on the way so the per-event byte limit costs no `JSON.stringify`.
 *
 * Iterative (explicit stack), so a 100,000-deep array cannot overflow the call stack; it stops descending
 * at the depth limit and stops altogether once the event is known to be too large. Written as one flat
 * loop with local counters: it runs on every event, and closures over mutable counters measured slower.
 */

interface Frame {
  value: object
  depth: number
  parent: Frame | null
  key: string | number
}

/** What the caller knows about the JSON text the event was parsed from. */
export interface SourceFacts {
  /** Exact serialised size in bytes. */
  byteSize?: number
  /**
   * The text had no backslash and was well-formed: no string in it can hold a control character, NUL
   * or lone surrogate (JSON requires those to be escaped), so per-string checks are skipped.
   */
  escapeFree?: boolean
  /** The text was well-formed and had no `\u` escape: no string in it can hold NUL or a lone surrogate. */
  noUnicodeEscapes?: boolean
  /** An upper bound on the text's size in bytes (e.g. the body a batch came in), when the exact size is unknown. */
  sourceTextBytes?: number
}

/** Options of `checkHostileInput` beyond the source facts. */
export interface WalkOptions extends SourceFacts {
  /**
   * Skip the per-string checks (length, lone surrogates, NUL) of the root object's own keys and string
   * values. Only for a caller that will reject the event unless a schema proves those strings plain
   * anyway — the built-in model does: `additionalProperties: false` at the top and every top-level string
   * is `plain-text`, `iso-date-time` or an enum — and that re-runs the full walk when the schema fails, so
   * the findings reported stay the walk's.
   */
  trustRootStrings?: boolean
}

/** Upper bound of bytes per UTF-16 code unit once serialised (`\u001f` is 6 bytes for one unit). */
const MAX_BYTES_PER_UNIT = 6
/** Longest serialised number (e.g. `-2.2250738585072014e-308`). */
const MAX_NUMBER_BYTES = 24

function pointer(frame: Frame | null, key?: string | number): string {
  const parts: string[] = []
  if (key !== undefined) parts.push(escapePointer(String(key)))
  for (let f = frame; f !== null && f.parent !== null; f = f.parent) parts.push(escapePointer(String(f.key)))
  if (parts.length === 0) return ''
  return '/' + parts.reverse().join('/')
}

function stringProblem(s: string, maxStringLength: number): string | null {
  if (s.length > maxStringLength) return `longer than ${maxStringLength} characters`
  if (!s.isWellFormed()) return 'contains a lone surrogate (invalid UTF-16)'
  if (s.indexOf('\u0000') !== -1) return 'contains U+0000 (NUL), which cannot be stored'
  return null
}

function hasEnumerableKeys(o: object): boolean {
  for (const _ in o) return true
  return false
}

/** Per-call state of one walk; a class so the hot loop reads fields, not closure slots. */
class Walk {
  lower = 2 // bytes the event takes at least, serialised
  upper = 2 // bytes it takes at most
  readonly stack: Frame[] = []

  constructor(
    readonly limits: ValidationLimits,
    readonly issues: IssueList,
    readonly checkStrings: boolean,
  ) {}

  /** True when something made Object.prototype enumerable keys (for-in would then see inherited keys). */
  readonly inheritedKeys = hasEnumerableKeys(Object.prototype)

  key(frame: Frame, key: string): boolean {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
      this.issues.add(pointer(frame, key), 'forbidden_key', `the key "${key}" is not accepted`)
      return false
    }
    this.lower += key.length + 3
    this.upper += key.length * MAX_BYTES_PER_UNIT + 3
    if (this.checkStrings) {
      const problem = stringProblem(key, this.limits.maxStringLength)
      if (problem !== null) {
        this.issues.add(pointer(frame, key), 'invalid_string', `key ${problem}`)
        return false
      }
    }
    return true
  }

  value(value: unknown, frame: Frame, key: string | number): void {
    switch (typeof value) {
      case 'string': {
        this.lower += value.length + 3
        this.upper += value.length * MAX_BYTES_PER_UNIT + 3
        if (this.checkStrings) {
          const max = this.limits.maxStringLength
          const problem = stringProblem(value, max)
          if (problem !== null) {
            const tooLong = value.length > max
            this.issues.add(
              pointer(frame, key),
              tooLong ? 'max_length' : 'invalid_string',
              `string ${problem}`,
              tooLong ? `<= ${max} characters` : undefined,
            )
          }
        }
        return
      }
      case 'number':
        this.lower += 2
        this.upper += MAX_NUMBER_BYTES + 1
        if (value - value !== 0) {
          this.issues.add(
            pointer(frame, key),
            'invalid_number',
            `${value} is not a finite number`,
            'a finite number',
          )
        }
        return
      case 'boolean':
        this.lower += 5
        this.upper += 6
        return
      case 'object': {
        this.lower += 5
        this.upper += 5
        if (value === null) return
        const maxDepth = this.limits.maxDepth
        if (frame.depth >= maxDepth) {
          this.issues.add(
            pointer(frame, key),
            'too_deep',
            `nesting deeper than ${maxDepth} levels`,
            `<= ${maxDepth} levels`,
          )
        } else {
          this.stack.push({ value, depth: frame.depth + 1, parent: frame, key })
        }
        return
      }
      case 'undefined':
        return // absent, as JSON.stringify treats it
      default:
        this.issues.add(pointer(frame, key), 'type', `a ${typeof value} is not a JSON value`)
    }
  }

  container(frame: Frame): void {
    const container = frame.value
    if (Array.isArray(container)) {
      for (let i = 0; i < container.length; i++) this.value(container[i], frame, i)
      return
    }
    const proto = Object.getPrototypeOf(container)
    if (proto !== Object.prototype && proto !== null) {
      this.issues.add(pointer(frame), 'type', 'must be a plain JSON object')
      return
    }
    const maxKeys = this.limits.maxKeysPerObject
    let count = 0
    // for-in over a JSON object's own keys: its prototype is Object.prototype or null (checked above), and
    // only a polluted Object.prototype could add inherited keys — the hasOwn guard runs only then.
    for (const key in container) {
      if (++count > maxKeys) {
        this.issues.add(
          pointer(frame),
          'too_many_keys',
          `object has more than ${maxKeys} keys`,
          `<= ${maxKeys} keys`,
        )
        return
      }
      if (this.inheritedKeys && !Object.hasOwn(container, key)) continue
      if (this.key(frame, key)) this.value((container as Record<string, unknown>)[key], frame, key)
    }
  }
}

/** Deepest `maxDepth` for which the recursive clean check is used (its recursion depth is `maxDepth`). */
const MAX_RECURSIVE_DEPTH = 256

/**
 * The walk's question without its answers: is the event free of every finding `Walk` could make? One
 * recursive pass that keeps no frames, no parent links and no keys, and stops at the first finding.
 * Nearly every event is clean, and then this is all the walk costs (measured ~2× cheaper than `Walk` on
 * bench/validate's corpus); when it is not, `Walk` runs from the start and reports the findings with
 * their paths, so what a caller sees is exactly `Walk`'s result. Same checks, same byte bounds: only the
 * visiting order differs, and neither sums nor a "no finding" verdict depend on it.
 */
class CleanCheck {
  lower = 2
  upper = 2

  constructor(
    readonly maxDepth: number,
    readonly maxKeys: number,
    readonly maxStringLength: number,
    readonly maxEventBytes: number,
    readonly checkStrings: boolean,
    readonly inheritedKeys: boolean,
  ) {}

  string(s: string): boolean {
    const len = s.length
    this.lower += len + 3
    this.upper += len * MAX_BYTES_PER_UNIT + 3
    return (
      !this.checkStrings || (len <= this.maxStringLength && s.isWellFormed() && s.indexOf('\u0000') === -1)
    )
  }

  /** `value` at nesting level `depth` (the level of the container holding it). */
  value(value: unknown, depth: number): boolean {
    switch (typeof value) {
      case 'string':
        return this.string(value)
      case 'number':
        this.lower += 2
        this.upper += MAX_NUMBER_BYTES + 1
        return value - value === 0
      case 'boolean':
        this.lower += 5
        this.upper += 6
        return true
      case 'object':
        this.lower += 5
        this.upper += 5
        if (value === null) return true
        if (depth >= this.maxDepth) return false
        return Array.isArray(value) ? this.array(value, depth + 1) : this.object(value, depth + 1)
      case 'undefined':
        return true
      default:
        return false
    }
  }

  array(a: unknown[], depth: number): boolean {
    for (let i = 0; i < a.length; i++) if (!this.value(a[i], depth)) return false
    return this.lower <= this.maxEventBytes
  }

  /** As `object` for the root, without the string checks of its own keys and string values. */
  trustedRoot(o: object): boolean {
    const proto = Object.getPrototypeOf(o)
    if (proto !== Object.prototype && proto !== null) return false
    const maxKeys = this.maxKeys
    let count = 0
    for (const key in o) {
      if (++count > maxKeys) return false
      if (this.inheritedKeys && !Object.hasOwn(o, key)) continue
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') return false
      const len = key.length
      this.lower += len + 3
      this.upper += len * MAX_BYTES_PER_UNIT + 3
      const value = (o as Record<string, unknown>)[key]
      if (typeof value === 'string') {
        this.lower += value.length + 3
        this.upper += value.length * MAX_BYTES_PER_UNIT + 3
      } else if (!this.value(value, 1)) return false
    }
    return this.lower <= this.maxEventBytes
  }

  object(o: object, depth: number): boolean {
    const proto = Object.getPrototypeOf(o)
    if (proto !== Object.prototype && proto !== null) return false
    const maxKeys = this.maxKeys
    let count = 0
    for (const key in o) {
      if (++count > maxKeys) return false
      if (this.inheritedKeys && !Object.hasOwn(o, key)) continue
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') return false
      if (!this.string(key) || !this.value((o as Record<string, unknown>)[key], depth)) return false
    }
    return this.lower <= this.maxEventBytes
  }
}

/**
 * `CleanCheck` for the case where neither strings nor sizes need looking at: the exact size is known (and
 * within the limit) and the text could not encode NUL or a lone surrogate (and cannot hold an over-long
 * string). What is left is the shape: depth, keys per object, forbidden keys, plain objects, finite numbers.
 */
class ShapeCheck {
  constructor(
    readonly maxDepth: number,
    readonly maxKeys: number,
    readonly inheritedKeys: boolean,
  ) {}

  value(value: unknown, depth: number): boolean {
    switch (typeof value) {
      case 'string':
      case 'boolean':
      case 'undefined':
        return true
      case 'number':
        return value - value === 0
      case 'object':
        if (value === null) return true
        if (depth >= this.maxDepth) return false
        return Array.isArray(value) ? this.array(value, depth + 1) : this.object(value, depth + 1)
      default:
        return false
    }
  }

  array(a: unknown[], depth: number): boolean {
    for (let i = 0; i < a.length; i++) {
      const v = a[i]
      if (typeof v !== 'string' && !this.value(v, depth)) return false
    }
    return true
  }

  object(o: object, depth: number): boolean {
    const proto = Object.getPrototypeOf(o)
    if (proto !== Object.prototype && proto !== null) return false
    const maxKeys = this.maxKeys
    let count = 0
    for (const key in o) {
      if (++count > maxKeys) return false
      if (this.inheritedKeys && !Object.hasOwn(o, key)) continue
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') return false
      const v = (o as Record<string, unknown>)[key]
      if (typeof v !== 'string' && !this.value(v, depth)) return false
    }
    return true
  }
}

/**
 * Walks `root` (a plain object) and adds an issue for every hostile value to `issues`. Returns false when
 * the event must be rejected. Without `source.byteSize` the size is estimated, and computed exactly only
 * when the estimate is inconclusive (long or non-ASCII strings).
 */
export function checkHostileInput(
  root: object,
  limits: ValidationLimits,
  issues: IssueList,
  source: WalkOptions = {},
): boolean {
  const { maxEventBytes, maxStringLength } = limits
  const { byteSize } = source
  if (byteSize !== undefined && byteSize > maxEventBytes) {
    issues.add(
      '',
      'too_large',
      `the event is ${byteSize} bytes; the limit is ${maxEventBytes}`,
      `<= ${maxEventBytes} bytes`,
    )
    return false
  }
  // Strings need no inspection when the text could not encode NUL or a lone surrogate (no `\u` escape in
  // well-formed text) and is too small to hold an over-long string.
  const plainSource = source.escapeFree === true || source.noUnicodeEscapes === true
  const textBound = byteSize ?? source.sourceTextBytes
  const checkStrings = !(plainSource && textBound !== undefined && textBound <= maxStringLength)
  const inheritedKeys = hasEnumerableKeys(Object.prototype)
  const shapeOnly = !checkStrings && byteSize !== undefined && byteSize * 3 <= maxEventBytes
  if (limits.maxDepth <= MAX_RECURSIVE_DEPTH && shapeOnly) {
    // The walk's lower bound can exceed the text's size (it counts `[]` as 5 bytes, a comma after every
    // value), but by less than 1.5x the text: a text under a third of the limit cannot make it report
    // too_large, so no sizes need counting.
    const shape = new ShapeCheck(limits.maxDepth, limits.maxKeysPerObject, inheritedKeys)
    if (Array.isArray(root) ? shape.array(root, 1) : shape.object(root, 1)) return true
  } else if (limits.maxDepth <= MAX_RECURSIVE_DEPTH) {
    const check = new CleanCheck(
      limits.maxDepth,
      limits.maxKeysPerObject,
      maxStringLength,
      maxEventBytes,
      checkStrings,
      inheritedKeys,
    )
    const clean = Array.isArray(root)
      ? check.array(root, 1)
      : source.trustRootStrings === true && checkStrings
        ? check.trustedRoot(root)
        : check.object(root, 1)
    if (clean) return checkExactSize(root, byteSize, check.upper, maxEventBytes, issues)
  }
  const start = issues.length
  const walk = new Walk(limits, issues, checkStrings)
  walk.stack.push({ value: root, depth: 1, parent: null, key: '' })
  while (walk.stack.length > 0 && walk.lower <= maxEventBytes && !issues.full)
    walk.container(walk.stack.pop()!)

  if (walk.lower > maxEventBytes) {
    issues.add(
      '',
      'too_large',
      `the event is larger than ${maxEventBytes} bytes`,
      `<= ${maxEventBytes} bytes`,
    )
    return false
  }
  if (issues.length > start) return false
  return checkExactSize(root, byteSize, walk.upper, maxEventBytes, issues)
}

/** When the size is unknown and its upper bound is over the limit, measures it exactly. */
function checkExactSize(
  root: object,
  byteSize: number | undefined,
  upper: number,
  maxEventBytes: number,
  issues: IssueList,
): boolean {
  if (byteSize === undefined && upper > maxEventBytes) {
    const exact = Buffer.byteLength(JSON.stringify(root))
    if (exact > maxEventBytes) {
      issues.add(
        '',
        'too_large',
        `the event is ${exact} bytes; the limit is ${maxEventBytes}`,
        `<= ${maxEventBytes} bytes`,
      )
      return false
    }
  }
  return true
}
