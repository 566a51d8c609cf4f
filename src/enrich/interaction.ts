import { collapseWhitespace } from './names.js'

/** Longest `properties.target.text` stored, UTF-16 code units (a surrogate pair is never split). */
export const MAX_TARGET_TEXT = 256

/** Trims, collapses whitespace and caps an interaction target's visible text. */
export function normaliseTargetText(text: string): string {
  const t = collapseWhitespace(text)
  if (t.length <= MAX_TARGET_TEXT) return t
  const last = t.charCodeAt(MAX_TARGET_TEXT - 1)
  const cut = last >= 0xd800 && last <= 0xdbff ? MAX_TARGET_TEXT - 1 : MAX_TARGET_TEXT
  return t.slice(0, cut)
}
