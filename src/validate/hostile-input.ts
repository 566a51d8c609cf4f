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

/**
 * Walks `root` (a plain object) and adds an issue for every hostile value to `issues`. Returns false when
 * the event must be rejected. Without `source.byteSize` the size is estimated, and computed exactly only
 * when the estimate is inconclusive (long or non-ASCII strings).
 */
export function checkHostileInput(
  root: object,
  limits: ValidationLimits,
  issues: IssueList,
  source: SourceFacts = {},
): boolean {
  const { maxEventBytes, maxDepth, maxKeysPerObject, maxStringLength } = limits
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
  // Strings need no inspection when the text was escape-free and too small to hold an over-long string.
  const checkStrings = !(source.escapeFree === true && byteSize !== undefined && byteSize <= maxStringLength)
  const start = issues.length
  let lower = 2 // bytes the event takes at least, serialised
  let upper = 2 // bytes it takes at most
  const stack: Frame[] = [{ value: root, depth: 1, parent: null, key: '' }]

  while (stack.length > 0 && lower <= maxEventBytes && !issues.full) {
    const frame = stack.pop()!
    const container = frame.value
    let keys: string[] | null = null
    let length: number
    if (Array.isArray(container)) {
      length = container.length
    } else {
      const proto = Object.getPrototypeOf(container)
      if (proto !== Object.prototype && proto !== null) {
        issues.add(pointer(frame), 'type', 'must be a plain JSON object')
        continue
      }
      keys = Object.keys(container)
      length = keys.length
      if (length > maxKeysPerObject) {
        issues.add(
          pointer(frame),
          'too_many_keys',
          `object has ${length} keys; the limit is ${maxKeysPerObject}`,
          `<= ${maxKeysPerObject} keys`,
        )
        continue
      }
    }
    for (let i = 0; i < length; i++) {
      let key: string | number = i
      if (keys !== null) {
        const name = keys[i]
        key = name
        if (name === '__proto__' || name === 'constructor' || name === 'prototype') {
          issues.add(pointer(frame, name), 'forbidden_key', `the key "${name}" is not accepted`)
          continue
        }
        lower += name.length + 3
        upper += name.length * MAX_BYTES_PER_UNIT + 3
        if (checkStrings) {
          const problem = stringProblem(name, maxStringLength)
          if (problem !== null) {
            issues.add(pointer(frame, name), 'invalid_string', `key ${problem}`)
            continue
          }
        }
      }
      const value = (container as Record<string | number, unknown>)[key]
      switch (typeof value) {
        case 'string': {
          lower += value.length + 3
          upper += value.length * MAX_BYTES_PER_UNIT + 3
          if (checkStrings) {
            const problem = stringProblem(value, maxStringLength)
            if (problem !== null) {
              const code = value.length > maxStringLength ? 'max_length' : 'invalid_string'
              issues.add(
                pointer(frame, key),
                code,
                `string ${problem}`,
                code === 'max_length' ? `<= ${maxStringLength} characters` : undefined,
              )
            }
          }
          break
        }
        case 'number':
          lower += 2
          upper += MAX_NUMBER_BYTES + 1
          if (value - value !== 0)
            issues.add(
              pointer(frame, key),
              'invalid_number',
              `${value} is not a finite number`,
              'a finite number',
            )
          break
        case 'boolean':
          lower += 5
          upper += 6
          break
        case 'object':
          lower += 5
          upper += 5
          if (value === null) break
          if (frame.depth >= maxDepth) {
            issues.add(
              pointer(frame, key),
              'too_deep',
              `nesting deeper than ${maxDepth} levels`,
              `<= ${maxDepth} levels`,
            )
          } else {
            stack.push({ value, depth: frame.depth + 1, parent: frame, key })
          }
          break
        case 'undefined':
          break // absent, as JSON.stringify treats it
        default:
          issues.add(pointer(frame, key), 'type', `a ${typeof value} is not a JSON value`)
      }
    }
  }

  if (lower > maxEventBytes) {
    issues.add(
      '',
      'too_large',
      `the event is larger than ${maxEventBytes} bytes`,
      `<= ${maxEventBytes} bytes`,
    )
    return false
  }
  if (issues.length > start) return false
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
