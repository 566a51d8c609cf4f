import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCli, tempDatabase } from '../../../test/helpers/run-cli.js'
import { createStore } from '../../store/create-store.js'

const V1 = {
  type: 'object',
  properties: { plan: { type: 'string', enum: ['free', 'pro'] }, seats: { type: 'integer' } },
}
// Breaking: "plan" becomes required and "seats" is removed.
const V2 = {
  type: 'object',
  required: ['plan'],
  properties: { plan: { type: 'string', enum: ['free', 'pro'] } },
}

describe('tally schema', () => {
  let db: ReturnType<typeof tempDatabase>
  let file: (name: string, content: unknown) => string
  beforeEach(() => {
    db = tempDatabase()
    file = (name, content) => {
      const path = join(db.dir, name)
      writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
      return path
    }
  })
  afterEach(() => db.remove())

  it('should add versions, report a breaking change, list and show them', async () => {
    const first = await runCli([
      'schema',
      'add',
      'track',
      'Signed Up',
      '1-0-0',
      file('v1.json', V1),
      '--db',
      db.url,
    ])
    expect(first.code).toBe(0)
    expect(JSON.parse(first.stdout)).toMatchObject({
      schema: { eventType: 'track', eventName: 'Signed Up', version: '1-0-0', jsonSchema: V1 },
      compatibility: null,
    })

    const second = await runCli([
      'schema',
      'add',
      'track',
      'Signed Up',
      '1-0-1',
      file('v2.json', V2),
      '--db',
      db.url,
    ])
    expect(second.code).toBe(0)
    const { compatibility } = JSON.parse(second.stdout)
    expect(compatibility).toMatchObject({ previousVersion: '1-0-0', version: '1-0-1', compatible: false })
    expect(compatibility.changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/plan', kind: 'required_added', breaking: true }),
        // Unlisted properties are accepted, so a removed definition refuses nothing.
        expect.objectContaining({ path: '/seats', kind: 'property_removed', breaking: false }),
      ]),
    )
    expect(compatibility.bumpAdvice).toEqual(expect.any(String))
    expect(second.stderr).toMatch(/BREAKING against 1-0-0: .*required_added/)

    const list = await runCli(['schema', 'list', '--db', db.url])
    expect(JSON.parse(list.stdout).schemas.map((s: { version: string }) => s.version)).toEqual([
      '1-0-0',
      '1-0-1',
    ])

    const latest = JSON.parse((await runCli(['schema', 'show', 'track', 'Signed Up', '--db', db.url])).stdout)
    expect(latest).toMatchObject({ version: '1-0-1', jsonSchema: V2 })
    const old = JSON.parse(
      (await runCli(['schema', 'show', 'track', 'Signed Up', '1-0-0', '--db', db.url])).stdout,
    )
    expect(old).toMatchObject({ version: '1-0-0', jsonSchema: V1 })
  })

  it('should refuse what the tracking plan refuses with exit 1, and bad usage with exit 2', async () => {
    const v1 = file('v1.json', V1)
    expect((await runCli(['schema', 'add', 'track', 'A', '2-0-0', v1, '--db', db.url])).code).toBe(0)
    const older = await runCli(['schema', 'add', 'track', 'A', '1-0-0', v1, '--db', db.url])
    expect(older.code).toBe(1)
    expect(older.stderr).toMatch(/schema_version_not_newer/)
    const exists = await runCli(['schema', 'add', 'track', 'A', '2-0-0', v1, '--db', db.url])
    expect(exists.stderr).toMatch(/schema_version_exists/)
    const invalid = await runCli([
      'schema',
      'add',
      'track',
      'B',
      '1-0-0',
      file('bad.json', { type: 'nonsense' }),
      '--db',
      db.url,
    ])
    expect(invalid.code).toBe(1)
    expect(invalid.stderr).toMatch(/schema_invalid/)
    const notJson = await runCli([
      'schema',
      'add',
      'track',
      'B',
      '1-0-0',
      file('bad.txt', '{nope'),
      '--db',
      db.url,
    ])
    expect(notJson.code).toBe(1)
    const missing = await runCli(['schema', 'show', 'track', 'Nope', '--db', db.url])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/no schema track\/Nope/)

    expect((await runCli(['schema', 'add', 'track', 'A', '--db', db.url])).code).toBe(2)
    expect((await runCli(['schema', 'add', 'bogus', 'A', '3-0-0', v1, '--db', db.url])).code).toBe(2)
    expect((await runCli(['schema', 'add', 'track', 'A', 'v3', v1, '--db', db.url])).code).toBe(1)
    expect((await runCli(['schema', 'drop', '--db', db.url])).code).toBe(2)
    expect(
      (await runCli(['schema', 'add', 'track', 'A', '3-0-0', join(db.dir, 'nope.json'), '--db', db.url]))
        .code,
    ).toBe(2)
  })

  it('should list and show a stored schema that no longer compiles as unusable, with why', async () => {
    expect(
      (await runCli(['schema', 'add', 'track', 'Fine', '1-0-0', file('v1.json', V1), '--db', db.url])).code,
    ).toBe(0)
    // Saved before the $ref-cycle check existed: written straight into the database.
    const store = await createStore(db.url)
    await store.saveSchema({
      projectId: 'default',
      eventType: 'track',
      eventName: 'Loop',
      version: '1-0-0',
      jsonSchema: { type: 'object', allOf: [{ $ref: '#' }] },
      createdAt: '2026-01-01T00:00:00.000Z',
    })
    await store.close()
    const list = await runCli(['schema', 'list', '--db', db.url])
    expect(list.code).toBe(0)
    const [fine, loop] = JSON.parse(list.stdout).schemas
    expect(fine).toEqual({
      eventType: 'track',
      eventName: 'Fine',
      version: '1-0-0',
      createdAt: expect.any(String),
    })
    expect(loop).toMatchObject({ eventName: 'Loop', unusable: expect.stringMatching(/without end/) })
    const show = await runCli(['schema', 'show', 'track', 'Loop', '--db', db.url])
    expect(JSON.parse(show.stdout)).toMatchObject({ version: '1-0-0', unusable: expect.any(String) })
  })

  it('should read the JSON Schema from stdin with "-"', async () => {
    const run = await runCli(['schema', 'add', 'page', '*', '1-0-0', '-', '--db', db.url], {
      stdin: JSON.stringify(V1),
    })
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout).schema).toMatchObject({ eventType: 'page', eventName: '*' })
  })
})

describe('tally schema add with text that is not JSON', () => {
  it('should say so on one whole line (the message was cut at the first newline of the input)', async () => {
    const db = tempDatabase()
    try {
      const run = await runCli(['schema', 'add', 'track', 'X', '1-0-0', '-', '--db', db.url], {
        stdin: 'not json\nat all\n',
      })
      expect(run.code).toBe(1) // a refused schema (docs/cli.md)
      expect(run.stderr).toMatch(
        /^tally schema: - is not JSON: .*"not json at all " is not valid JSON.*\(schema_invalid\)\n$/,
      )
    } finally {
      db.remove()
    }
  })
})
