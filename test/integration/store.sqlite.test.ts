import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { createStore } from '../../src/store/create-store.js'
import { runStoreConformance } from '../helpers/store-conformance.js'

runStoreConformance({
  name: 'sqlite :memory:',
  newStore: () => createStore('sqlite::memory:', { migrate: true }),
})

const dir = mkdtempSync(join(tmpdir(), 'tally-store-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
runStoreConformance({
  name: 'sqlite file',
  newStore: () => createStore(`sqlite:${join(dir, `t${n++}`, 'tally.db')}`, { migrate: true }),
})

describe('createStore (sqlite)', () => {
  it('should create the directory, use WAL and keep data across reopen', async () => {
    const url = `sqlite:${join(dir, 'nested', 'deeper', 'x.db')}`
    const store = await createStore(url, { migrate: true })
    await store.createProject({
      id: 'p',
      name: 'P',
      createdAt: new Date().toISOString(),
      settings: {} as never,
    })
    const mode = await store.db.selectNoFrom((eb) => eb.val(1).as('x')).execute()
    expect(mode).toHaveLength(1)
    await store.close()
    const again = await createStore(url)
    await expect(again.ping()).resolves.toBeUndefined()
    expect((await again.getProject('p'))?.name).toBe('P')
    await again.close()
  })

  it('should wait for another writer (busy_timeout 5 s) when createStore is given no timeout', async () => {
    // Regression: `busyTimeoutMs: undefined` from createStore overrode the default and set busy_timeout to
    // NaN (0): a delete on the server's main connection failed at once while the write worker committed.
    const file = join(dir, 'busy', 'x.db')
    const store = await createStore(`sqlite:${file}`, { busyTimeoutMs: undefined, migrate: true })
    const other = new BetterSqlite3(file)
    other.exec('begin immediate') // another writer holds the lock…
    const deleting = store.deleteEvent('p1', 'nope')
    await new Promise((r) => setTimeout(r, 300))
    other.exec('commit') // …for 300 ms, well within the default 5 s
    other.close()
    await expect(deleting).resolves.toBe(false)
    await store.close()
  })

  it('should refuse to ping before migrations ran', async () => {
    const store = await createStore('sqlite::memory:')
    await expect(store.ping()).rejects.toMatchObject({ code: 'store_unavailable' })
    expect(await store.migrate()).toContain('0001-initial')
    await expect(store.ping()).resolves.toBeUndefined()
    await store.close()
  })

  it('should refuse URLs it does not understand with config_invalid', async () => {
    for (const url of ['', 'mysql://x', 'sqlite:', 'postgres://', 'postgres://[bad']) {
      await expect(createStore(url)).rejects.toMatchObject({ code: 'config_invalid' })
    }
  })
})
