/**
 * What `tally import` tells the operator while it runs and when it ends: a progress line for a terminal
 * (bar, rate, ETA from the bytes read of a file of known size) and the one-line summary.
 */

/** Counts of one import run. */
export interface Totals {
  read: number
  accepted: number
  duplicates: number
  rejected: number
  dropped: number
  unreadable: number
  /** Lines read as stored events (an export), stored or not. */
  restored: number
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?'
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

export function progressLine(totals: Totals, bytes: number, size: number | null, seconds: number): string {
  const rate = seconds > 0 ? totals.read / seconds : 0
  const parts = [
    `${totals.read.toLocaleString('en-US')} events`,
    `${Math.round(rate).toLocaleString('en-US')}/s`,
  ]
  if (size !== null && size > 0) {
    const fraction = Math.min(1, bytes / size)
    const width = 20
    const filled = Math.round(fraction * width)
    const eta = fraction > 0 ? (seconds / fraction) * (1 - fraction) : Number.POSITIVE_INFINITY
    parts.unshift(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0)}%`)
    parts.push(`ETA ${formatDuration(eta)}`)
  }
  if (totals.rejected + totals.unreadable > 0) parts.push(`${totals.rejected + totals.unreadable} rejected`)
  return parts.join('  ')
}

export function summaryLine(totals: Totals, keptAlready: number, seconds: number): string {
  const rate = seconds > 0 ? Math.round(totals.read / seconds) : totals.read
  const kept = keptAlready > 0 ? ` (${keptAlready} kept already)` : ''
  const dropped = totals.dropped > 0 ? `, ${totals.dropped} dropped (bots)` : ''
  const unreadable = totals.unreadable > 0 ? `, ${totals.unreadable} unreadable` : ''
  const restored = totals.restored > 0 ? `; ${totals.restored} read as exported events` : ''
  return `tally import: ${totals.read} events — ${totals.accepted} stored, ${totals.duplicates} duplicates, ${totals.rejected} rejected${kept}${unreadable}${dropped}${restored} (${seconds.toFixed(2)} s, ${rate} events/s)\n`
}
