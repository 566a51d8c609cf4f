import type { Transaction } from 'kysely'
import type { AnalyticsEvent } from '../schema/analytics-event.js'
import type { Database } from './database.js'
import type { StoreDialect } from './dialect.js'

/**
 * Maintains pre-aggregated statistics for newly accepted events, inside the ingest transaction (so rollups
 * and events can never disagree). Implemented by the statistics stage (`stats/rollups/write-rollups.ts`).
 */
export type RollupWriter = (
  trx: Transaction<Database>,
  dialect: StoreDialect,
  events: readonly AnalyticsEvent[],
) => Promise<void>

/**
 * Recomputes the rollups of `projectId` for the hours in [from, to) from the events still stored, inside
 * the caller's transaction. The store calls it after deleting events (GDPR erasure, single deletes,
 * retention), so statistics never count — or keep the user ids of — events that are gone.
 * Implemented by the statistics stage (`stats/rollups/rebuild-rollups.ts`).
 */
export type RollupRebuilder = (
  trx: Transaction<Database>,
  dialect: StoreDialect,
  projectId: string,
  range: { from: number; to: number },
) => Promise<void>

const HOUR_MS = 3_600_000

/** Groups epoch-ms timestamps into contiguous whole-hour ranges [from, to), so each is rebuilt once. */
export function hourRanges(timestampsMs: Iterable<number>): { from: number; to: number }[] {
  const hours = [...new Set([...timestampsMs].map((ms) => Math.floor(ms / HOUR_MS)))].sort((a, b) => a - b)
  const ranges: { from: number; to: number }[] = []
  for (const h of hours) {
    const last = ranges[ranges.length - 1]
    if (last && last.to === h * HOUR_MS) last.to = (h + 1) * HOUR_MS
    else ranges.push({ from: h * HOUR_MS, to: (h + 1) * HOUR_MS })
  }
  return ranges
}
