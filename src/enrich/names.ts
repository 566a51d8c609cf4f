import type { ProjectSettings } from '../store/project-types.js'

export type NameCase = ProjectSettings['nameCase']

const CLEAN = /^\S+(?: \S+)*$/
const WHITESPACE = /\s+/g

/** Trims and collapses every run of whitespace to one space. Returns the same string when already clean. */
export function collapseWhitespace(s: string): string {
  return CLEAN.test(s) ? s : s.trim().replace(WHITESPACE, ' ')
}

/**
 * Applies a project's name-case policy: `as-is`; `lower`; or `snake_case`, where word boundaries are spaces,
 * punctuation and lower→upper changes (`Order Completed`, `orderCompleted`, `order-completed` all become
 * `order_completed`; `APIRequest` becomes `api_request`). Letters outside ASCII are kept.
 */
export function applyNameCase(name: string, policy: NameCase): string {
  if (policy === 'as-is') return name
  if (policy === 'lower') return name.toLowerCase()
  return name
    .replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, '$1_$2')
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1_$2')
    .replace(/[^\p{L}\p{N}]+/gu, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase()
}

/** Trim + collapse, then the case policy. Returns null when nothing is left (a name of only spaces). */
export function normaliseName(name: string, policy: NameCase): string | null {
  const collapsed = collapseWhitespace(name)
  if (collapsed.length === 0) return null
  const cased = applyNameCase(collapsed, policy)
  return cased.length === 0 ? collapsed : cased
}
