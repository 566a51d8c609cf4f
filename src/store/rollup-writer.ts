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
