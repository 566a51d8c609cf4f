import { appendFileSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

/**
 * Appends one JSON line of measured figures to RELIABILITY_FIGURES (when set), so a long run leaves the
 * numbers RELIABILITY.md quotes; also prints them. Figures are reported, never asserted on.
 */
export function recordFigures(suite: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ suite, at: new Date().toISOString(), ...figures })
  console.log(`[reliability] ${line}`)
  const file = process.env.RELIABILITY_FIGURES
  if (file) {
    mkdirSync(dirname(file), { recursive: true })
    appendFileSync(file, `${line}\n`)
  }
}
