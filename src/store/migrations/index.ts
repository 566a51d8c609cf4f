import { initialMigration } from './0001-initial.js'
import { rollupsMigration } from './0002-rollups.js'
import { auditMigration } from './0003-audit.js'
import { userIndexMigration } from './0004-user-index.js'
import { rollupWatermarkMigration } from './0005-rollup-watermark.js'
import { typeTimeIndexMigration } from './0006-type-time-index.js'
import { sqliteDedupeIndexMigration } from './0007-sqlite-dedupe-index.js'
import { failedEventClientMigration } from './0008-failed-event-client.js'
import { erasuresMigration } from './0009-erasures.js'
import { schemaTextOrderMigration } from './0010-schema-text-order.js'
import type { StoreMigration } from './store-migration.js'

/**
 * Every migration, in order. A static list (no directory scanning) so migrations run the same from `src/`
 * under tsx and from `dist/`. Add a migration by importing it and appending ONE line here.
 */
export const STORE_MIGRATIONS: readonly StoreMigration[] = [
  initialMigration,
  rollupsMigration, // 0002: rollup tables, owned by the statistics stage
  auditMigration, // 0003: audit log of admin actions, owned by src/audit
  userIndexMigration, // 0004: events by user (queries, GDPR erasure)
  rollupWatermarkMigration, // 0005: deferred rollups on SQLite, owned by the statistics stage
  typeTimeIndexMigration, // 0006: PostgreSQL, newest events of one type
  sqliteDedupeIndexMigration, // 0007: SQLite, dedupe by a unique index on events
  failedEventClientMigration, // 0008: a failed event's client IP and User-Agent, for its replay
  erasuresMigration, // 0009: GDPR erasures remembered, so events written after one are dropped
  schemaTextOrderMigration, // 0010: PostgreSQL, tracking-plan schemas kept with their key order
]
