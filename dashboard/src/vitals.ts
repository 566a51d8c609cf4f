/** web.dev's thresholds: good ≤ good, poor > poor, needs improvement between (https://web.dev/articles/vitals). */
export const THRESHOLDS: Readonly<Record<string, { good: number; poor: number; unit: 'ms' | 'score' }>> = {
  LCP: { good: 2500, poor: 4000, unit: 'ms' },
  INP: { good: 200, poor: 500, unit: 'ms' },
  CLS: { good: 0.1, poor: 0.25, unit: 'score' },
  FCP: { good: 1800, poor: 3000, unit: 'ms' },
  TTFB: { good: 800, poor: 1800, unit: 'ms' },
  FID: { good: 100, poor: 300, unit: 'ms' },
}

export type Rating = 'good' | 'needs-improvement' | 'poor'

export function rate(metric: string, value: number | null): Rating | undefined {
  const t = THRESHOLDS[metric]
  if (!t || value == null) return undefined
  return value <= t.good ? 'good' : value <= t.poor ? 'needs-improvement' : 'poor'
}

export const unitOf = (metric: string): 'ms' | 'score' => THRESHOLDS[metric]?.unit ?? 'ms'
