import { describe, expect, it } from 'vitest'
import { applyNameCase, collapseWhitespace, normaliseName } from './names.js'

describe('collapseWhitespace', () => {
  it('should trim and collapse runs of any whitespace', () => {
    expect(collapseWhitespace('  Order \t\n Completed  ')).toBe('Order Completed')
    const clean = 'Order Completed'
    expect(collapseWhitespace(clean)).toBe(clean)
  })
})

describe('applyNameCase', () => {
  it('should snake_case spaces, camelCase, acronyms and punctuation', () => {
    expect(applyNameCase('Order Completed', 'snake_case')).toBe('order_completed')
    expect(applyNameCase('orderCompleted', 'snake_case')).toBe('order_completed')
    expect(applyNameCase('order-completed!', 'snake_case')).toBe('order_completed')
    expect(applyNameCase('APIRequest Sent', 'snake_case')).toBe('api_request_sent')
    expect(applyNameCase('Größe Geändert', 'snake_case')).toBe('größe_geändert')
  })

  it('should lower-case or keep as-is', () => {
    expect(applyNameCase('Order Completed', 'lower')).toBe('order completed')
    expect(applyNameCase('Order Completed', 'as-is')).toBe('Order Completed')
  })
})

describe('normaliseName', () => {
  it('should return null for a name of only whitespace and keep names with no letters', () => {
    expect(normaliseName('   ', 'as-is')).toBeNull()
    expect(normaliseName(' !!! ', 'snake_case')).toBe('!!!')
    expect(normaliseName(' Signed   Up ', 'snake_case')).toBe('signed_up')
  })
})
