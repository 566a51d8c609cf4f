import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ndjson, runCli, tempDatabase } from '../../../test/helpers/run-cli.js'
import { createStore } from '../../store/create-store.js'

const PLAN_V1 = { type: 'object', required: ['plan'], properties: { plan: { enum: ['free', 'pro'] } } }
const PLAN_V2 = {
  type: 'object',
  required: ['plan'],
  properties: { plan: { enum: ['free', 'pro', 'team'] } },
}

describe('tally failed', () => {
  let db: ReturnType<typeof tempDatabase>
  beforeEach(async () => {
    db = tempDatabase()
    expect((await runCli(['migrate', '--db', db.url])).code).toBe(0)
    expect((await runCli(['keys', 'list', '--db', db.url])).code).toBe(0) // creates the default project
    const store = await createStore(db.url)
    await store.updateProjectSettings('default', { enforcement: 'block' })
    await store.close()
  })
  afterEach(() => db.remove())

  it('should list events the plan rejected and replay them once the schema is fixed', async () => {
    const v1 = join(db.dir, 'v1.json')
    const v2 = join(db.dir, 'v2.json')
    writeFileSync(v1, JSON.stringify(PLAN_V1))
    writeFileSync(v2, JSON.stringify(PLAN_V2))
    expect((await runCli(['schema', 'add', 'track', 'Signed Up', '1-0-0', v1, '--db', db.url])).code).toBe(0)
    const events = [
      { type: 'track', name: 'Signed Up', userId: 'u1', messageId: 's1', properties: { plan: 'pro' } },
      { type: 'track', name: 'Signed Up', userId: 'u2', messageId: 's2', properties: { plan: 'team' } },
      { type: 'track', name: 'Signed Up', userId: 'u3', properties: { plan: 'team' } },
      { type: 'track', name: 'Signed Up', userId: 'u4', messageId: 's4', properties: { plan: 'gold' } },
    ]
    const imported = await runCli(['import', '-', '--db', db.url], { stdin: ndjson(...events) })
    expect(imported.code).toBe(1)
    expect(imported.stderr).toMatch(/1 stored, 0 duplicates, 3 rejected/)

    const listed = await runCli(['failed', 'list', '--code', 'schema_violation', '--db', db.url])
    expect(listed.code).toBe(0)
    const { failedEvents, nextCursor } = JSON.parse(listed.stdout)
    expect(failedEvents).toHaveLength(3)
    expect(nextCursor).toBeNull()
    // Newest first, as --help says (it said oldest first).
    const received = failedEvents.map((f: { receivedAt: string; id: string }) => `${f.receivedAt} ${f.id}`)
    expect(received).toEqual([...received].sort().reverse())
    expect(failedEvents[0].errors[0]).toMatchObject({ path: '/properties/plan', code: 'schema_violation' })
    expect(
      JSON.parse((await runCli(['failed', 'list', '--code', 'required', '--db', db.url])).stdout)
        .failedEvents,
    ).toEqual([])
    const paged = JSON.parse((await runCli(['failed', 'list', '--limit', '2', '--db', db.url])).stdout)
    expect(paged.failedEvents).toHaveLength(2)
    expect(paged.nextCursor).toEqual(expect.any(String))

    // Fix the plan: "team" becomes a valid plan. "gold" still fails.
    expect((await runCli(['schema', 'add', 'track', 'Signed Up', '1-1-0', v2, '--db', db.url])).code).toBe(0)
    const replay = await runCli(['failed', 'replay', '--db', db.url])
    expect(replay.code).toBe(0)
    expect(JSON.parse(replay.stdout)).toEqual({
      examined: 3,
      replayed: 2,
      duplicates: 0,
      stillFailing: 1,
      inProgress: 0,
    })
    expect(replay.stderr).toMatch(/2 stored, 0 already stored, 1 still failing/)

    const stored = JSON.parse(
      (await runCli(['query', '--db', db.url, '--where', 'properties.plan=team'])).stdout,
    )
    expect(stored.events.map((e: { userId: string }) => e.userId).sort()).toEqual(['u2', 'u3'])
    const left = JSON.parse((await runCli(['failed', 'list', '--db', db.url])).stdout).failedEvents
    expect(left.map((f: { payload: { userId: string } }) => f.payload.userId)).toEqual(['u4'])

    // Replaying again stores nothing twice.
    const again = JSON.parse((await runCli(['failed', 'replay', '--db', db.url])).stdout)
    expect(again).toEqual({ examined: 1, replayed: 0, duplicates: 0, stillFailing: 1, inProgress: 0 })
  })

  it('should refuse bad usage with exit 2', async () => {
    for (const argv of [
      ['failed'],
      ['failed', 'purge'],
      ['failed', 'list', '--limit', '0'],
      ['failed', 'list', '--from', 'last week'],
      ['failed', 'list', '--max', '3'],
      ['failed', 'replay', '--cursor', 'x'],
      ['failed', 'list', '--code', 'DROP TABLE'],
      ['failed', 'list', '--code', 'nonsense'], // no such code: matched nothing with exit 0 before
    ]) {
      const run = await runCli([...argv, '--db', db.url])
      expect(run.code, argv.join(' ')).toBe(2)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
    }
  })
})
