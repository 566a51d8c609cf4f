import { type Kysely, sql } from 'kysely'
import type { StoreDialect } from '../dialect.js'
import type { StoreMigration } from './store-migration.js'

/**
 * Hourly rollup tables maintained at ingest by `src/stats/rollups/write-rollups.ts` (owned by the
 * statistics stage; see docs/statistics.md). The primary key leads with `(project_id, hour)`, so a range
 * read is one index range; SQLite stores them `WITHOUT ROWID` (the key is the table).
 */
export const rollupsMigration: StoreMigration = {
  name: '0002-rollups',
  async up(db: Kysely<any>, dialect: StoreDialect) {
    const bigint = sql.raw(dialect.columnTypes.bigint)
    const bytes = sql.raw(dialect.columnTypes.bytes)
    const end = dialect.name === 'sqlite' ? sql`without rowid` : sql``
    const base = (table: string) =>
      db.schema
        .createTable(table)
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('hour', 'integer', (c) => c.notNull())

    await base('stats_counts')
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('count', bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint('stats_counts_pk', ['project_id', 'hour', 'type', 'name'])
      .modifyEnd(end)
      .execute()

    await base('stats_uniques')
      .addColumn('users', bytes, (c) => c.notNull())
      .addColumn('sessions', bytes, (c) => c.notNull())
      .addPrimaryKeyConstraint('stats_uniques_pk', ['project_id', 'hour'])
      .modifyEnd(end)
      .execute()

    await base('stats_performance')
      .addColumn('metric', 'text', (c) => c.notNull())
      .addColumn('count', bigint, (c) => c.notNull())
      .addColumn('good', bigint, (c) => c.notNull())
      .addColumn('needs_improvement', bigint, (c) => c.notNull())
      .addColumn('poor', bigint, (c) => c.notNull())
      .addColumn('hist', bytes, (c) => c.notNull())
      .addPrimaryKeyConstraint('stats_performance_pk', ['project_id', 'hour', 'metric'])
      .modifyEnd(end)
      .execute()

    await base('stats_api')
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('route', 'text', (c) => c.notNull())
      .addColumn('count', bigint, (c) => c.notNull())
      .addColumn('status_4xx', bigint, (c) => c.notNull())
      .addColumn('status_5xx', bigint, (c) => c.notNull())
      .addColumn('hist', bytes, (c) => c.notNull())
      .addPrimaryKeyConstraint('stats_api_pk', ['project_id', 'hour', 'method', 'route'])
      .modifyEnd(end)
      .execute()

    await base('stats_interactions')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('count', bigint, (c) => c.notNull())
      .addColumn('users', bytes, (c) => c.notNull())
      .addPrimaryKeyConstraint('stats_interactions_pk', ['project_id', 'hour', 'action', 'target'])
      .modifyEnd(end)
      .execute()
  },
  async down(db: Kysely<any>) {
    for (const t of [
      'stats_interactions',
      'stats_api',
      'stats_performance',
      'stats_uniques',
      'stats_counts',
    ]) {
      await db.schema.dropTable(t).ifExists().execute()
    }
  },
}
