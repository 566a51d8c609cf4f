import { describe, expect, it } from 'vitest'
import { textOf } from './selector.js'

/** The part of an Element textOf reads. */
const element = (textContent: string, ariaLabel: string | null = null) =>
  ({ closest: () => null, textContent, getAttribute: () => ariaLabel }) as unknown as Element

/** No lone surrogate: what the server refuses as `invalid_string`. */
const wellFormed = (s: string) =>
  !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s)

describe('textOf', () => {
  it('should cut at 100 characters without splitting an emoji (a lone surrogate made the server refuse the click)', () => {
    const text = textOf(element(`${'a'.repeat(99)}😀 more`))!
    expect(text).toBe('a'.repeat(99))
    expect(wellFormed(text)).toBe(true)
    expect(textOf(element(`${'a'.repeat(98)}😀 more`))).toBe(`${'a'.repeat(98)}😀`)
    const label = textOf(element('  ', `${'b'.repeat(99)}😀`))!
    expect(wellFormed(label)).toBe(true)
    expect(textOf(element('Buy   now\n'))).toBe('Buy now')
  })
})
