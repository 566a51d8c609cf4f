import { describe, expect, it } from 'vitest'
import { isStorableText, toStorableText } from './storable-text.js'

describe('storable text', () => {
  it('should accept ordinary text, including surrogate pairs', () => {
    for (const s of ['', 'plain', 'émoji 😀', '\u{10ffff}']) {
      expect(isStorableText(s)).toBe(true)
      expect(toStorableText(s)).toBe(s)
    }
  })

  it('should write NUL and each lone surrogate as its escape text', () => {
    expect(isStorableText('a\u0000')).toBe(false)
    expect(toStorableText('a\u0000b')).toBe('a\\u0000b')
    expect(toStorableText('\ud800')).toBe('\\ud800')
    expect(toStorableText('x\udc00y')).toBe('x\\udc00y')
    expect(toStorableText('\ud83d\ud83d\ude00')).toBe('\\ud83d😀')
    expect(toStorableText('\ud83d')).toBe('\\ud83d')
  })
})
