import type { Kysely } from 'kysely'
import type { StoreDialect } from '../dialect.js'

/**
 * One schema change. `name` orders migrations (zero-padded: `0001-initial`, `0002-rollups`) and is what
 * the `tally_migrations` table records. `up` gets the dialect for portable column types
 * (`dialect.columnTypes`) and for the few DDL differences. A migration never loses data.
 *
 * @example
 * export const rollupsMigration: StoreMigration = {
 *   name: '0002-rollups',
 *   async up(db, dialect) {
 *     await db.schema.createTable('rollup_hourly').addColumn('bucket', sql.raw(dialect.columnTypes.bigint)).execute()
 *   },
 * }
 */
export interface StoreMigration {
  readonly name: string
  up(db: Kysely<any>, dialect: StoreDialect): Promise<void>
  down?(db: Kysely<any>, dialect: StoreDialect): Promise<void>
}
