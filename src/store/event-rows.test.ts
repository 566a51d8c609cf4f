import { describe, expect, it } from 'vitest'
import { makeEvent } from '../../test/helpers/store-conformance.js'
import {
  EVENT_COLUMNS,
  encodeEventRow,
  ROW_ID,
  ROW_MESSAGE_ID,
  ROW_PROJECT_ID,
  toEventRow,
} from './event-rows.js'
import { PostgresStoreDialect } from './postgres/postgres-dialect.js'
import { SqliteStoreDialect } from './sqlite/sqlite-dialect.js'

describe('encodeEventRow', () => {
  // The encoder lists the columns by hand (it runs for every event); it must bind exactly what the row
  // object holds, in EVENT_COLUMNS order, or the insert would write values into the wrong columns.
  const dialects = [
    new SqliteStoreDialect({ filename: ':memory:' }),
    new PostgresStoreDialect({ connectionString: 'postgres://unused' }),
  ]
  const events = [
    makeEvent(),
    makeEvent({
      userId: 'u1',
      sessionId: 's1',
      groupId: 'g1',
      previousId: 'p0',
      traits: { plan: 'pro' },
      originalTimestamp: '2026-11-02T00:00:00.000Z',
      sentAt: '2026-11-02T00:00:01.000Z',
      tags: ['a'],
      schema: { name: 'track/Signed Up', version: '1.0.0' },
      violations: [{ path: '/x', code: 'type', message: 'm' }],
    }),
  ]
  for (const d of dialects) {
    it(`should bind the row's values in column order (${d.name})`, () => {
      for (const e of events) {
        const row = toEventRow(d, e) as Record<string, unknown>
        expect(encodeEventRow(d, e)).toEqual(EVENT_COLUMNS.map((c) => row[c]))
      }
    })
  }

  it('should expose the positions the insert reads', () => {
    const e = makeEvent({ messageId: 'm-1' })
    const values = encodeEventRow(dialects[0], e)
    expect([values[ROW_ID], values[ROW_PROJECT_ID], values[ROW_MESSAGE_ID]]).toEqual([
      e.id,
      e.projectId,
      'm-1',
    ])
  })
})
