import { describe, expect, it } from 'vitest'
import { MAX_TARGET_TEXT, normaliseTargetText } from './interaction.js'

describe('normaliseTargetText', () => {
  it('should trim, collapse whitespace and cap the text', () => {
    expect(normaliseTargetText('\n  Add   to\tcart \n')).toBe('Add to cart')
    expect(normaliseTargetText('x'.repeat(1000))).toHaveLength(MAX_TARGET_TEXT)
  })

  it('should not split a surrogate pair at the cap', () => {
    const text = `${'a'.repeat(MAX_TARGET_TEXT - 1)}😀tail`
    const out = normaliseTargetText(text)
    expect(out).toBe('a'.repeat(MAX_TARGET_TEXT - 1))
  })
})
