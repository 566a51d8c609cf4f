import type { PerformanceRating, PerformanceUnit } from '../schema/event-types.js'

/**
 * web.dev thresholds ("good" up to the first, "poor" above the second), in the metric's default unit.
 * https://web.dev/articles/vitals — LCP, INP, CLS, FCP, TTFB; FID kept for older clients.
 */
export const WEB_VITAL_THRESHOLDS: Readonly<Record<string, readonly [good: number, poor: number]>> = {
  LCP: [2500, 4000],
  INP: [200, 500],
  CLS: [0.1, 0.25],
  FCP: [1800, 3000],
  TTFB: [800, 1800],
  FID: [100, 300],
}

/** The unit a metric is in when the client sent none: `score` for CLS, otherwise milliseconds. */
export function defaultUnit(metric: string): PerformanceUnit {
  return metric.toUpperCase() === 'CLS' ? 'score' : 'ms'
}

/**
 * `value` in the metric's default unit when it can be converted: seconds become milliseconds for a metric
 * measured in ms. Any other unit is returned as sent (it has no conversion to the default unit). Statistics
 * aggregate every value of a metric through this, so 0.3 s and 300 ms rank as the same value.
 */
export function toDefaultUnit(metric: string, value: number, unit: PerformanceUnit | undefined): number {
  return unit === 's' && defaultUnit(metric) === 'ms' ? value * 1000 : value
}

/**
 * web.dev's rating for a known web vital, or null for custom metrics and for units the thresholds cannot
 * be applied to. A value in seconds is converted to milliseconds first.
 */
export function rateMetric(metric: string, value: number, unit: PerformanceUnit): PerformanceRating | null {
  const key = metric.toUpperCase()
  const t = Object.hasOwn(WEB_VITAL_THRESHOLDS, key) ? WEB_VITAL_THRESHOLDS[key] : undefined
  if (t === undefined || !Number.isFinite(value)) return null
  if (key === 'CLS' ? unit !== 'score' : unit !== 's' && unit !== 'ms') return null
  const v = toDefaultUnit(metric, value, unit)
  return v <= t[0] ? 'good' : v <= t[1] ? 'needs-improvement' : 'poor'
}
