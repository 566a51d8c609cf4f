import { type Kysely, sql } from 'kysely'
import type { StoreDialect } from '../dialect.js'
import type { StoreMigration } from './store-migration.js'

/**
 * The audit log (owned by src/audit): one row per admin action. `id` is a UUIDv7 and `at` ISO-8601 UTC
 * text, both time-ordered, so the project index keeps new rows together and pages read in order.
 */
export const auditMigration: StoreMigration = {
  name: '0003-audit',
  async up(db: Kysely<any>, _dialect: StoreDialect) {
    await db.schema
      .createTable('audit_log')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('actor_key_id', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target', 'text')
      .addColumn('details', 'text', (c) => c.notNull().defaultTo(sql.lit('{}')))
      .execute()
    await db.schema
      .createIndex('audit_log_project_idx')
      .on('audit_log')
      .columns(['project_id', 'id'])
      .execute()
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('audit_log').execute()
  },
}
