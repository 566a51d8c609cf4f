import type { IssueCode } from '../errors/issue-codes.js'
import type { ValidationIssue } from '../schema/validation-issue.js'

/**
 * Collects the issues of one event up to a cap. When more arrive than fit, the last slot becomes a
 * `too_many_errors` issue, so a report is never longer than `max` and always says it was cut.
 */
export class IssueList {
  readonly items: ValidationIssue[] = []
  #max: number
  #truncated = false

  constructor(max: number) {
    this.#max = Math.max(1, max)
  }

  get full(): boolean {
    return this.#truncated
  }

  get length(): number {
    return this.items.length
  }

  add(path: string, code: IssueCode, message: string, expected?: string): void {
    if (this.#truncated) return
    if (this.items.length === this.#max) {
      this.items[this.#max - 1] = TOO_MANY(this.#max)
      this.#truncated = true
      return
    }
    const issue: ValidationIssue = { path, code, message }
    if (expected !== undefined) issue.expected = expected
    this.items.push(issue)
  }

  /** True when an issue is already recorded at `path` or at a parent of it (the root `""` excluded). */
  covers(path: string): boolean {
    for (const issue of this.items) {
      if (issue.path === '') continue
      if (path === issue.path || (path.startsWith(issue.path) && path.charCodeAt(issue.path.length) === 47))
        return true
    }
    return false
  }
}

const TOO_MANY = (max: number): ValidationIssue => ({
  path: '',
  code: 'too_many_errors',
  message: `more than ${max - 1} problems; only the first ${max - 1} are listed`,
})

/** Escapes one JSON Pointer reference token (RFC 6901). */
export function escapePointer(key: string): string {
  if (key.indexOf('~') === -1 && key.indexOf('/') === -1) return key
  return key.replace(/~/g, '~0').replace(/\//g, '~1')
}
