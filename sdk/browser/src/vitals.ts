import { type Metric, onCLS, onFCP, onINP, onLCP, onTTFB } from 'web-vitals'

type Emit = (type: 'performance', name: string, properties: Record<string, unknown>) => void

/**
 * Reports LCP, INP, CLS, FCP and TTFB (via `web-vitals`) as `performance` events with value, unit, rating
 * and navigation type. LCP, INP and CLS are final only when the user interacts or the page is hidden;
 * `web-vitals` reports them then, before the tracker's own page-hide flush.
 */
export function captureVitals(emit: Emit): void {
  const report = (m: Metric) =>
    emit('performance', m.name, {
      value: m.value,
      unit: m.name === 'CLS' ? 'score' : 'ms',
      rating: m.rating,
      navigationType: m.navigationType,
      id: m.id,
    })
  onLCP(report)
  onINP(report)
  onCLS(report)
  onFCP(report)
  onTTFB(report)
}
