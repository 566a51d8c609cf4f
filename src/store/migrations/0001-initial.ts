import { type Kysely, sql } from 'kysely'
import type { StoreDialect } from '../dialect.js'
import type { StoreMigration } from './store-migration.js'

/** The base schema: events (+ dedupe), failed events, the tracking plan, projects and API keys. */
export const initialMigration: StoreMigration = {
  name: '0001-initial',
  async up(db: Kysely<any>, dialect: StoreDialect) {
    const t = dialect.columnTypes
    const time = sql.raw(t.time)
    const json = sql.raw(t.json)

    await db.schema
      .createTable('projects')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('settings', json, (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull().unique())
      .addColumn('prefix', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('revoked_at', time)
      .execute()
    await db.schema.createIndex('api_keys_project_idx').on('api_keys').columns(['project_id']).execute()

    // The hot table. No foreign key to projects: a per-row check on the ingest path buys nothing the
    // API-key lookup has not already established.
    await db.schema
      .createTable('events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('message_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text')
      .addColumn('anonymous_id', 'text')
      .addColumn('session_id', 'text')
      .addColumn('group_id', 'text')
      .addColumn('previous_id', 'text')
      .addColumn('timestamp', time, (c) => c.notNull())
      .addColumn('original_timestamp', 'text')
      .addColumn('sent_at', 'text')
      .addColumn('received_at', time, (c) => c.notNull())
      .addColumn('properties', json, (c) => c.notNull())
      .addColumn('traits', json)
      .addColumn('context', json, (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('tags', json, (c) => c.notNull())
      .addColumn('schema_name', 'text')
      .addColumn('schema_version', 'text')
      .addColumn('violations', json, (c) => c.notNull())
      .addColumn('claimed_by', 'text')
      .addColumn('lease_until', time)
      .execute()
    // Lean index set (each index is extra work per insert): time range + keyset, and type/name + time.
    await db.schema
      .createIndex('events_project_time_idx')
      .on('events')
      .columns(['project_id', 'timestamp', 'id'])
      .execute()
    await db.schema
      .createIndex('events_project_type_name_time_idx')
      .on('events')
      .columns(['project_id', 'type', 'name', 'timestamp'])
      .execute()
    // Claimable events only: processed events leave the index, new ones append (ids are time-ordered).
    await sql`create index events_claimable_idx on events (project_id, id) where status in ('received', 'processing')`.execute(
      db,
    )

    // Dedupe: random-order keys kept in a narrow table of their own (see docs/storage.md).
    let dedupe = db.schema
      .createTable('event_dedupe')
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('message_id', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('event_dedupe_pk', ['project_id', 'message_id'])
    if (dialect.name === 'sqlite') dedupe = dedupe.modifyEnd(sql`without rowid`)
    await dedupe.execute()

    await db.schema
      .createTable('failed_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('received_at', time, (c) => c.notNull())
      .addColumn('payload', json, (c) => c.notNull())
      .addColumn('errors', json, (c) => c.notNull())
      .addColumn('replay_state', 'text', (c) => c.notNull())
      .addColumn('replay_attempts', 'integer', (c) => c.notNull())
      .addColumn('last_replay_at', time)
      .addColumn('replayed_event_id', 'text')
      .execute()
    await db.schema
      .createIndex('failed_events_project_time_idx')
      .on('failed_events')
      .columns(['project_id', 'received_at', 'id'])
      .execute()

    await db.schema
      .createTable('schemas')
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('event_name', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('json_schema', json, (c) => c.notNull())
      .addColumn('created_at', time, (c) => c.notNull())
      .addPrimaryKeyConstraint('schemas_pk', ['project_id', 'event_type', 'event_name', 'version'])
      .execute()
  },
}
