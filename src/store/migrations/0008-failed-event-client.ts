import type { Kysely } from 'kysely'
import type { StoreMigration } from './store-migration.js'

/**
 * What a failed event's request said about the client: its IP (as the event store would keep it —
 * anonymised unless the project stores raw IPs) and its `User-Agent` header. A replay formats the event
 * with them, as ingest would have: before, a replayed event lost the IP, the header's user agent, and the
 * session id derived from the two. Null for failed events kept before this migration or by `tally import`.
 */
export const failedEventClientMigration: StoreMigration = {
  name: '0008-failed-event-client',
  async up(db: Kysely<any>) {
    await db.schema.alterTable('failed_events').addColumn('client_ip', 'text').execute()
    await db.schema.alterTable('failed_events').addColumn('user_agent', 'text').execute()
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('failed_events').dropColumn('user_agent').execute()
    await db.schema.alterTable('failed_events').dropColumn('client_ip').execute()
  },
}
