import { type Kysely, type Migration, Migrator } from 'kysely'
import type { Database } from '../database.js'
import type { StoreDialect } from '../dialect.js'
import { STORE_MIGRATIONS } from './index.js'
import type { StoreMigration } from './store-migration.js'

/** Name of the table that records applied migrations. */
export const MIGRATION_TABLE = 'tally_migrations'
export const MIGRATION_LOCK_TABLE = 'tally_migrations_lock'

/**
 * A Kysely `Migrator` over a static list of migrations (default: `STORE_MIGRATIONS`). Each migration runs
 * in its own transaction on both dialects (both have transactional DDL).
 */
export function createMigrator(
  db: Kysely<Database>,
  dialect: StoreDialect,
  migrations: readonly StoreMigration[] = STORE_MIGRATIONS,
): Migrator {
  const byName: Record<string, Migration> = {}
  for (const m of migrations) {
    if (byName[m.name]) throw new Error(`Duplicate migration name ${m.name}`)
    byName[m.name] = {
      up: (kdb) => m.up(kdb, dialect),
      ...(m.down ? { down: (kdb: Kysely<any>) => m.down!(kdb, dialect) } : {}),
    }
  }
  return new Migrator({
    db,
    provider: { getMigrations: async () => byName },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  })
}
