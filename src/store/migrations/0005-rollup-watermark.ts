import { type Kysely, sql } from 'kysely'
import type { StoreDialect } from '../dialect.js'
import type { StoreMigration } from './store-migration.js'

/**
 * Deferred rollups on SQLite (src/stats/rollups/catch-up-rollups.ts): one row holding the highest events
 * `rowid` already added to the rollup tables. Rollups were maintained inside every insert transaction
 * until now, so every existing event is rolled up: the mark starts at the table's current maximum.
 * PostgreSQL keeps maintaining rollups in the insert transaction and never reads the row.
 */
export const rollupWatermarkMigration: StoreMigration = {
  name: '0005-rollup-watermark',
  async up(db: Kysely<any>, dialect: StoreDialect) {
    await db.schema
      .createTable('rollup_watermark')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('last_rowid', dialect.name === 'postgres' ? 'bigint' : 'integer', (c) => c.notNull())
      .execute()
    if (dialect.name === 'sqlite') {
      await sql`insert into rollup_watermark (id, last_rowid) select 1, coalesce(max(rowid), 0) from events`.execute(
        db,
      )
    } else {
      await sql`insert into rollup_watermark (id, last_rowid) values (1, 0)`.execute(db)
    }
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('rollup_watermark').execute()
  },
}
