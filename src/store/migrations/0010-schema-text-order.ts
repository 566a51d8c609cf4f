import { type Kysely, sql } from 'kysely'
import type { StoreDialect } from '../dialect.js'
import type { StoreMigration } from './store-migration.js'

/**
 * PostgreSQL: tracking-plan schemas kept as `json` (the text as registered) instead of `jsonb`, which
 * stores objects with its own key order. A schema read back had its keys reordered, and since Ajv reports
 * problems in the order of a schema's keys, the same event got its issues in another order on PostgreSQL
 * than on SQLite — and with the issue cap, other issues (a trial). Nothing queries inside the column.
 * Schemas stored before keep the order jsonb gave them. SQLite keeps JSON as text already.
 */
export const schemaTextOrderMigration: StoreMigration = {
  name: '0010-schema-text-order',
  async up(db: Kysely<any>, dialect: StoreDialect) {
    if (dialect.name !== 'postgres') return
    await sql`alter table schemas alter column json_schema type json using json_schema::json`.execute(db)
  },
  async down(db: Kysely<any>, dialect: StoreDialect) {
    if (dialect.name !== 'postgres') return
    await sql`alter table schemas alter column json_schema type jsonb using json_schema::jsonb`.execute(db)
  },
}
