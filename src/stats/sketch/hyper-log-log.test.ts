import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HLL_STANDARD_ERROR, HyperLogLog, hash53 } from './hyper-log-log.js'

// HLL error is statistical: 4 standard errors (6.5%) is exceeded with probability ~6e-5 per estimate.
// fast-check runs with a fixed seed so the suite is reproducible.
const BOUND = 4 * HLL_STANDARD_ERROR

function relativeError(estimate: number, exact: number): number {
  return Math.abs(estimate - exact) / exact
}

describe('HyperLogLog', () => {
  it('should estimate the distinct count within 4 standard errors (or 1) for random sets', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60_000 }), fc.integer(), (n, seed) => {
        const h = new HyperLogLog()
        for (let i = 0; i < n; i++) h.add(`user-${seed}-${i}`)
        // Duplicates never change the estimate.
        for (let i = 0; i < n; i += 7) h.add(`user-${seed}-${i}`)
        return Math.abs(h.estimate() - n) <= Math.max(1, BOUND * n)
      }),
      { numRuns: 40, seed: 20261127 },
    )
  })

  it('should have a root-mean-square error near the stated 1.6% standard error', () => {
    let squares = 0
    const trials = 40
    for (let t = 0; t < trials; t++) {
      const h = new HyperLogLog()
      for (let i = 0; i < 20_000; i++) h.add(`t${t}-${i}`)
      squares += relativeError(h.estimate(), 20_000) ** 2
    }
    expect(Math.sqrt(squares / trials)).toBeLessThan(1.5 * HLL_STANDARD_ERROR)
    expect(new HyperLogLog().estimate()).toBe(0)
  })

  it('should give the union count when merged, directly or through bytes', () => {
    const a = new HyperLogLog()
    const b = new HyperLogLog()
    for (let i = 0; i < 30_000; i++) a.add(`a${i}`)
    for (let i = 15_000; i < 45_000; i++) b.add(`a${i}`)
    const viaBytes = HyperLogLog.deserialize(a.serialize())
    viaBytes.mergeSerialized(b.serialize())
    a.merge(b)
    expect(relativeError(a.estimate(), 45_000)).toBeLessThan(BOUND)
    expect(viaBytes.estimate()).toBe(a.estimate())
  })

  it('should serialise sparsely while few registers are set', () => {
    const h = new HyperLogLog()
    for (let i = 0; i < 20; i++) h.add(`s${i}`)
    expect(h.serialize().length).toBeLessThan(70)
    for (let i = 0; i < 100_000; i++) h.add(`s${i}`)
    expect(h.serialize().length).toBe(4097)
  })

  it('should reject a corrupt blob with a RangeError', () => {
    expect(() => HyperLogLog.deserialize(new Uint8Array([9]))).toThrow(RangeError)
    expect(() => HyperLogLog.deserialize(new Uint8Array([1, 2, 3]))).toThrow(RangeError)
  })

  it('should hash deterministically into 53 bits', () => {
    expect(hash53('abc')).toBe(hash53('abc'))
    expect(hash53('abc')).not.toBe(hash53('abd'))
    expect(hash53('x')).toBeLessThan(2 ** 53)
  })
})
