import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createStore } from '../../src/store/create-store.js'
import type { KyselyEventStore } from '../../src/store/kysely-event-store.js'
import { makeEvent } from '../helpers/store-conformance.js'
import { canMountTmpfs } from './helpers/can-mount.js'

// Regression for RELIABILITY.md suite 2's finding: on a disk with less room than the WAL's checkpoint
// threshold (10,000 pages ≈ 40 MB), the WAL refilled the space freed after a full disk and the store never
// recovered. The store now checkpoints and truncates the WAL after SQLITE_FULL and checkpoints early from
// then on. Needs a tmpfs (root on Linux), like the rest of suite 2.

const BATCH = 200
const batch = () =>
  Array.from({ length: BATCH }, () =>
    makeEvent({
      properties: { note: 'x'.repeat(300) },
      messageId: `m-${Math.random().toString(36).slice(2)}`,
    }),
  )

describe.skipIf(!canMountTmpfs())('SQLite on a small disk', () => {
  const mnt = mkdtempSync(join(tmpdir(), 'tally-small-disk-'))
  let store: KyselyEventStore | undefined
  afterAll(async () => {
    await store?.close().catch(() => {})
    execFileSync('umount', ['-l', mnt], { stdio: 'ignore' })
    rmSync(mnt, { recursive: true, force: true })
  })

  it('should accept writes again once space is freed after the disk filled up', async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mnt])
    mkdirSync(join(mnt, 'data'))
    const file = join(mnt, 'data', 'tally.db')
    store = await createStore(`sqlite:${file}`, { migrate: true, rollupWriter: null })
    // Leave ~8 MB: the WAL (checkpointed only at ~40 MB) fills it.
    execFileSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=1M', 'count=38'], {
      stdio: 'ignore',
    })
    let failure: unknown
    for (let i = 0; i < 500 && failure === undefined; i++) {
      try {
        await store.insertBatch(batch(), [])
      } catch (err) {
        failure = err
      }
    }
    expect(failure, 'the disk filled up').toMatchObject({ code: 'store_unavailable' })
    rmSync(join(mnt, 'filler'))

    // ~10 MB of events: fits the freed 38 MB many times over, but not a WAL that grows to 40 MB.
    let stored = 0
    for (let i = 0; i < 50; i++) stored += (await store.insertBatch(batch(), [])).length
    expect(stored).toBe(50 * BATCH)
    expect(statSync(`${file}-wal`).size).toBeLessThan(16 * 1024 * 1024)
  }, 120_000)
})
