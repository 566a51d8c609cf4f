import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_RELATIVE_ACCURACY, LogHistogram, MIN_INDEXABLE_VALUE } from './log-histogram.js'

const QUANTILES = [0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1]

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]
}

function withinBound(estimate: number, exact: number, alpha: number): boolean {
  if (Math.abs(exact) < MIN_INDEXABLE_VALUE) return Math.abs(estimate) < MIN_INDEXABLE_VALUE
  // A hair of slack for floating-point rounding in log/pow.
  return Math.abs(estimate - exact) <= alpha * Math.abs(exact) * (1 + 1e-9)
}

const value = fc.oneof(
  fc.double({ min: 1e-6, max: 1e7, noNaN: true }),
  fc.double({ min: -1e4, max: 1e4, noNaN: true }),
  fc.constant(0),
  fc.integer({ min: 0, max: 10_000 }),
)

describe('LogHistogram', () => {
  it('should estimate every quantile within alpha relative error of the exact rank value', () => {
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 400 }),
        fc.constantFrom(0.01, 0.02, 0.05),
        (values, alpha) => {
          const h = new LogHistogram(alpha)
          for (const v of values) h.add(v)
          const sorted = [...values].sort((a, b) => a - b)
          for (const q of QUANTILES) {
            const est = h.quantile(q) as number
            if (!withinBound(est, exactQuantile(sorted, q), alpha)) return false
          }
          return true
        },
      ),
      { numRuns: 300 },
    )
  })

  it('should keep the bound after merging and after a serialise round trip', () => {
    fc.assert(
      fc.property(fc.array(fc.array(value, { maxLength: 100 }), { minLength: 1, maxLength: 8 }), (parts) => {
        const merged = new LogHistogram()
        const viaBytes = new LogHistogram()
        for (const part of parts) {
          const h = new LogHistogram()
          for (const v of part) h.add(v)
          merged.merge(h)
          viaBytes.mergeSerialized(h.serialize())
        }
        const all = parts.flat().sort((a, b) => a - b)
        expect(merged.count).toBe(all.length)
        expect(viaBytes.count).toBe(all.length)
        if (all.length === 0) return merged.quantile(0.5) === null
        for (const q of QUANTILES) {
          const exact = exactQuantile(all, q)
          if (!withinBound(merged.quantile(q) as number, exact, DEFAULT_RELATIVE_ACCURACY)) return false
          if (viaBytes.quantile(q) !== merged.quantile(q)) return false
        }
        return true
      }),
      { numRuns: 200 },
    )
  })

  it('should return the exact min and max at q = 0 and q = 1', () => {
    const h = new LogHistogram()
    for (const v of [3.3, 1200, 0.07, 45]) h.add(v)
    expect(h.quantile(0)).toBe(0.07)
    expect(h.quantile(1)).toBe(1200)
    expect(h.min).toBe(0.07)
    expect(h.max).toBe(1200)
  })

  it('should count repeated values through the times argument', () => {
    const h = new LogHistogram()
    h.add(0, 90)
    h.add(0.25, 10)
    expect(h.count).toBe(100)
    expect(h.quantile(0.5)).toBe(0)
    expect(h.quantile(0.95)).toBeCloseTo(0.25, 2)
  })

  it('should return null for an empty histogram and stay small when serialised', () => {
    const h = new LogHistogram()
    expect(h.quantile(0.5)).toBeNull()
    expect(LogHistogram.deserialize(h.serialize()).count).toBe(0)
    for (let i = 0; i < 1000; i++) h.add(100 + (i % 50))
    // 1,000 values in ~20 buckets: a header plus ~2 bytes per bucket.
    expect(h.serialize().length).toBeLessThan(100)
  })

  it('should refuse to merge histograms of different accuracy', () => {
    expect(() => new LogHistogram(0.01).merge(new LogHistogram(0.02))).toThrow(RangeError)
    expect(() => new LogHistogram(0.01).mergeSerialized(new LogHistogram(0.02).serialize())).toThrow(
      RangeError,
    )
  })
})

describe('LogHistogram near the largest double', () => {
  it('should keep the accuracy bound for values of 1e308 (the estimate overflowed to the max)', () => {
    const h = new LogHistogram()
    for (const v of [1, 2, 3, 1e308, 1e308, 1e308, Number.MAX_VALUE]) h.add(v)
    const p50 = h.quantile(0.5)! // rank 3 of 7: 1e308
    expect(Math.abs(p50 - 1e308) / 1e308).toBeLessThanOrEqual(0.01)
    expect(h.quantile(1)).toBe(Number.MAX_VALUE)
  })
})
