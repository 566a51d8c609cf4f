import { type Kysely, sql } from 'kysely'
import type { StoreDialect } from '../dialect.js'
import type { StoreMigration } from './store-migration.js'

/**
 * GDPR erasures, remembered: who (`user_id` and/or `anonymous_id`, each kept only as a salted SHA-256,
 * `erasureDigest`, so the list of erased people holds no identifier) and when. An event accepted before an
 * erasure but written after it — still in the scale-out stream, or in a group commit not yet written —
 * is dropped when it is written (insert-batch.ts), so the person's data never comes back. Before, an
 * erasure while a worker had a backlog answered "deleted 0" and the events were stored minutes later.
 */
export const erasuresMigration: StoreMigration = {
  name: '0009-erasures',
  async up(db: Kysely<any>, dialect: StoreDialect) {
    const time = sql.raw(dialect.columnTypes.time)
    await db.schema
      .createTable('erasures')
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text')
      .addColumn('anonymous_id', 'text')
      .addColumn('erased_at', time, (c) => c.notNull())
      .execute()
    // Every group commit asks for erasures newer than its oldest event: an index probe that finds nothing.
    await db.schema
      .createIndex('erasures_recent_idx')
      .on('erasures')
      .columns(['project_id', 'erased_at'])
      .execute()
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('erasures').execute()
  },
}
