import { describe, expect, it } from 'vitest'
import { defaultUnit, rateMetric, toDefaultUnit } from './performance.js'

describe('defaultUnit', () => {
  it('should be score for CLS and ms otherwise', () => {
    expect(defaultUnit('CLS')).toBe('score')
    expect(defaultUnit('cls')).toBe('score')
    expect(defaultUnit('LCP')).toBe('ms')
    expect(defaultUnit('checkout-render')).toBe('ms')
  })
})

describe('rateMetric', () => {
  it('should apply the web.dev thresholds inclusively', () => {
    expect(rateMetric('LCP', 2500, 'ms')).toBe('good')
    expect(rateMetric('LCP', 2501, 'ms')).toBe('needs-improvement')
    expect(rateMetric('LCP', 4001, 'ms')).toBe('poor')
    expect(rateMetric('INP', 200, 'ms')).toBe('good')
    expect(rateMetric('INP', 501, 'ms')).toBe('poor')
    expect(rateMetric('CLS', 0.1, 'score')).toBe('good')
    expect(rateMetric('CLS', 0.2, 'score')).toBe('needs-improvement')
    expect(rateMetric('FCP', 3000, 'ms')).toBe('needs-improvement')
    expect(rateMetric('TTFB', 1801, 'ms')).toBe('poor')
  })

  it('should convert seconds and give no rating for custom metrics or mismatched units', () => {
    expect(rateMetric('LCP', 2.4, 's')).toBe('good')
    expect(rateMetric('checkout-render', 10, 'ms')).toBeNull()
    expect(rateMetric('LCP', 10, 'bytes')).toBeNull()
    expect(rateMetric('CLS', 0.05, 'ms')).toBeNull()
    expect(rateMetric('toString', 1, 'ms')).toBeNull()
  })
})

describe('toDefaultUnit', () => {
  it('should turn seconds into milliseconds for metrics measured in ms and leave other units as sent', () => {
    expect(toDefaultUnit('INP', 0.3, 's')).toBe(300)
    expect(toDefaultUnit('checkout-render', 1.5, 's')).toBe(1500)
    expect(toDefaultUnit('INP', 100, 'ms')).toBe(100)
    expect(toDefaultUnit('INP', 100, undefined)).toBe(100)
    expect(toDefaultUnit('CLS', 0.3, 's')).toBe(0.3)
    expect(toDefaultUnit('CLS', 0.1, 'score')).toBe(0.1)
    expect(toDefaultUnit('bundle', 2048, 'bytes')).toBe(2048)
  })
})
