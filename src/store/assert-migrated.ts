import { AppError } from '../errors/app-error.js'
import type { EventStore } from './event-store.js'
import type { KyselyEventStore } from './kysely-event-store.js'

/**
 * Refuses a database with pending migrations (`store_unavailable`, naming them): what a server or worker
 * started with TALLY_MIGRATE_ON_START=false checks, instead of failing on every write later (a worker
 * logged `relation "event_dedupe" does not exist` every 2 s while its messages were redelivered).
 */
export async function assertMigrated(store: EventStore): Promise<void> {
  const status = (store as Partial<KyselyEventStore>).migrationStatus
  if (status === undefined) return
  const { pending } = await status.call(store)
  if (pending.length > 0) throw pendingMigrationsError(pending)
}

/** The refusal of a database with `pending` migrations when TALLY_MIGRATE_ON_START is false. */
export function pendingMigrationsError(pending: readonly string[]): AppError {
  return new AppError(
    'store_unavailable',
    `the database needs migrations (${pending.join(', ')}) and TALLY_MIGRATE_ON_START is false — run "tally migrate"`,
  )
}
