import { type Kysely, sql } from 'kysely'
import type { StoreDialect } from '../dialect.js'
import type { StoreMigration } from './store-migration.js'

/**
 * SQLite: dedupe by a unique index on `events (project_id, message_id)` instead of the narrow
 * `event_dedupe` table. Both are one random-order B-tree insert per event; the index spares the second
 * statement per event and the table's own `event_id` copy. Measured with bench/store.ts's raw loops over
 * the same rows: the unique index cost 0.94x of no dedupe against the table's 0.76x here (2026-11-27),
 * and came out ahead in each of the three earlier runs (BENCHMARKS.md "## Storage"). PostgreSQL keeps the
 * table, which measured faster there (0.73–0.82x for the index).
 *
 * `event_dedupe` held exactly the (project, messageId) keys of the stored events (deletes remove both), so
 * the index is built from `events` and the table dropped. `down` rebuilds the table from `events`.
 */
export const sqliteDedupeIndexMigration: StoreMigration = {
  name: '0007-sqlite-dedupe-index',
  async up(db: Kysely<any>, dialect: StoreDialect) {
    if (dialect.name !== 'sqlite') return
    await db.schema
      .createIndex('events_project_message_idx')
      .unique()
      .on('events')
      .columns(['project_id', 'message_id'])
      .execute()
    await db.schema.dropTable('event_dedupe').execute()
  },
  async down(db: Kysely<any>, dialect: StoreDialect) {
    if (dialect.name !== 'sqlite') return
    await db.schema
      .createTable('event_dedupe')
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('message_id', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('event_dedupe_pk', ['project_id', 'message_id'])
      .modifyEnd(sql`without rowid`)
      .execute()
    await sql`insert into event_dedupe (project_id, message_id, event_id) select project_id, message_id, id from events`.execute(
      db,
    )
    await db.schema.dropIndex('events_project_message_idx').execute()
  },
}
