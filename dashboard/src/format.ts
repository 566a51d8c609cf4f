const INT = new Intl.NumberFormat('en-US')
const PCT = new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 1 })

export const fmtInt = (n: number | null | undefined): string => (n == null ? '–' : INT.format(n))
export const fmtPct = (n: number | null | undefined): string => (n == null ? '–' : PCT.format(n))

/** A latency or metric value with its unit: ms under 10 s, else seconds; CLS as a bare score. */
export function fmtValue(v: number | null | undefined, unit: 'ms' | 'score' = 'ms'): string {
  if (v == null) return '–'
  if (unit === 'score') return v.toFixed(3)
  if (v >= 10_000) return `${(v / 1000).toFixed(1)} s`
  if (v >= 100) return `${Math.round(v)} ms`
  return `${v.toFixed(1)} ms`
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '–'
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString()
}

/** Short axis labels: 850 ms, 2.5 s, 0.12. */
export function fmtAxis(v: number, unit: 'ms' | 'score' = 'ms'): string {
  if (unit === 'score') return String(Number(v.toFixed(3)))
  if (Math.abs(v) >= 1000) return `${Number((v / 1000).toFixed(2))} s`
  return `${Number(v.toFixed(1))} ms`
}
