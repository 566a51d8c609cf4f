import type { Kysely } from 'kysely'
import type { StoreDialect } from '../dialect.js'
import type { StoreMigration } from './store-migration.js'

/**
 * An index for "everything of this user": `queryEvents({ userId })` (the explorer, support requests) and
 * GDPR erasure. It ends in (timestamp, id) so it also serves the keyset order: without `id` SQLite's
 * planner preferred the project's time index and scanned (299 ms → 1.0 ms at 1M events, bench/query.ts). Without it both scan the project: 311 ms median at 1M events on SQLite (bench/query.ts),
 * ~10× that at 10M. Its cost was measured before adding it: user ids arrive in random order, but the
 * insert path already pays for one random-order key (the dedupe table), and a `user_id` index on top
 * measured 0.95× of the insert rate without it (bench/store.ts, idle machine, 2026-11-27).
 */
export const userIndexMigration: StoreMigration = {
  name: '0004-user-index',
  async up(db: Kysely<any>, _dialect: StoreDialect) {
    await db.schema
      .createIndex('events_project_user_time_idx')
      .on('events')
      .columns(['project_id', 'user_id', 'timestamp', 'id'])
      .execute()
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('events_project_user_time_idx').execute()
  },
}
