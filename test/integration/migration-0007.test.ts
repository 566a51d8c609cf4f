import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createStore } from '../../src/store/create-store.js'
import { EVENT_COLUMNS, encodeEventRow } from '../../src/store/event-rows.js'
import { createMigrator } from '../../src/store/migrations/create-migrator.js'
import { SqliteStoreDialect } from '../../src/store/sqlite/sqlite-dialect.js'
import { makeEvent } from '../helpers/store-conformance.js'

// Migration 0007 moves SQLite's dedupe from the event_dedupe table to a unique index on events. A database
// written before it must keep refusing the messageIds it already holds, and `down` must give the table back.

describe('sqlite migration 0007: dedupe by a unique index on events', () => {
  let dir: string
  let url: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tally-m0007-'))
    url = `sqlite:${join(dir, 'tally.db')}`
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('should keep the messageIds stored before it as duplicates, and give the table back on down', async () => {
    // A database at 0006, holding one event and its dedupe row as the old insert path wrote them.
    const store = await createStore(url, { writeWorker: false })
    const migrator = createMigrator(store.db, store.storeDialect)
    expect((await migrator.migrateTo('0006-type-time-index')).error).toBeUndefined()
    const old = makeEvent({ messageId: 'm-old' })
    const file = join(dir, 'tally.db')
    const raw = new SqliteStoreDialect({ filename: file }).openDatabase()
    raw
      .prepare(
        `insert into events (${EVENT_COLUMNS.join(',')}) values (${EVENT_COLUMNS.map(() => '?').join(',')})`,
      )
      .run(encodeEventRow(store.storeDialect, old))
    raw.prepare('insert into event_dedupe values (?, ?, ?)').run(old.projectId, old.messageId, old.id)

    await store.migrate()
    const again = makeEvent({ messageId: 'm-old' })
    const fresh = makeEvent({ messageId: 'm-new' })
    expect(await store.insertBatch([again, fresh], [])).toEqual([
      { status: 'duplicate', id: old.id },
      { status: 'accepted', id: fresh.id },
    ])
    expect(raw.prepare("select name from sqlite_master where name = 'event_dedupe'").get()).toBeUndefined()

    expect((await migrator.migrateTo('0006-type-time-index')).error).toBeUndefined()
    const keys = raw.prepare('select message_id, event_id from event_dedupe order by message_id').all()
    expect(keys).toEqual([
      { message_id: 'm-new', event_id: fresh.id },
      { message_id: 'm-old', event_id: old.id },
    ])
    raw.close()
    await store.close()
  })
})
