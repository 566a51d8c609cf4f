import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createStore } from '../../src/store/create-store.js'
import { makeEvent, runStoreConformance } from '../helpers/store-conformance.js'

// The same contract with group commits written by the SQLite write worker (its own connection to the file).
const dir = mkdtempSync(join(tmpdir(), 'tally-store-worker-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const url = () => `sqlite:${join(dir, `t${n++}`, 'tally.db')}`

runStoreConformance({
  name: 'sqlite file, write worker',
  newStore: () => createStore(url(), { migrate: true, writeWorker: true }),
})

describe('createStore (sqlite, writeWorker)', () => {
  it('should never store a retried messageId twice when the worker and the main connection share the file', async () => {
    const file = url()
    const store = await createStore(file, { migrate: true, writeWorker: true })
    const other = await createStore(file) // e.g. the CLI importer: a second writer on the same file
    try {
      const first = makeEvent({ messageId: 'retried' })
      const [a] = await store.insertBatch([first], [])
      expect(a).toEqual({ status: 'accepted', id: first.id })
      const [b] = await other.insertBatch([makeEvent({ messageId: 'retried' })], [])
      expect(b).toEqual({ status: 'duplicate', id: first.id })
      const [c] = await store.insertBatch([makeEvent({ messageId: 'retried' })], [])
      expect(c).toEqual({ status: 'duplicate', id: first.id })
      const page = await store.queryEvents('p1', { limit: 10 })
      expect(page.events.map((e) => e.messageId)).toEqual(['retried'])
    } finally {
      await other.close()
      await store.close()
    }
  })

  it('should keep every acknowledged event after close and reopen', async () => {
    const file = url()
    const store = await createStore(file, { migrate: true, writeWorker: true })
    const events = Array.from({ length: 50 }, (_, i) => makeEvent({ at: i }))
    const outcomes = await Promise.all([
      store.insertBatch(events.slice(0, 25), []),
      store.insertBatch(events.slice(25), []),
    ])
    expect(outcomes.flat().every((o) => o.status === 'accepted')).toBe(true)
    await store.close()
    await expect(store.insertBatch([makeEvent()], [])).rejects.toMatchObject({ code: 'store_unavailable' })
    const again = await createStore(file)
    const page = await again.queryEvents('p1', { limit: 100 })
    expect(page.events).toHaveLength(50)
    await again.close()
  })

  it('should answer store_unavailable when the worker cannot open the database', async () => {
    // A directory where the database file should be: the worker's connection fails on first use.
    const file = url()
    const store = await createStore(file, { migrate: true, writeWorker: true })
    rmSync(join(file.slice('sqlite:'.length, -'tally.db'.length)), { recursive: true, force: true })
    const err = await store.insertBatch([makeEvent()], []).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: expect.stringMatching(/^(store_unavailable|internal)$/) })
    await store.close()
  })
})
