import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createContext, Script } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { AppError } from '../errors/app-error.js'
import type { StoredSchema } from '../store/schema-types.js'
import { EventValidator } from '../validate/event-validator.js'
import { IssueList } from '../validate/issue-list.js'
import { validEvents } from '../validate/test-events.js'
import { diffSchemas } from './compatibility.js'
import { loadSchemaDir } from './load-schema-dir.js'
import { compareSchemaVer, parseSchemaVer } from './schema-ver.js'
import { TrackingPlan } from './tracking-plan.js'

const validator = new EventValidator()

/** A schema as the store returns it: a track event's version 1-0-0 in project p1, unless told otherwise. */
function storedSchema(
  over: Partial<StoredSchema> & Pick<StoredSchema, 'eventName' | 'jsonSchema'>,
): StoredSchema {
  return {
    projectId: 'p1',
    eventType: 'track',
    version: '1-0-0',
    createdAt: '2026-11-01T00:00:00.000Z',
    ...over,
  }
}

/**
 * Runs `fn` and returns its result, but ends it with an error if it is still running after 25 s. A
 * backtracking regex blocks the thread, so vitest's own 30 s timeout could never fire: without this guard
 * a regression would hang the run instead of failing this test. Not a timing assertion: the linear-time
 * engine answers in milliseconds.
 */
function unlessItHangs<T>(fn: () => T): T {
  return new Script('run()').runInContext(createContext({ run: fn }), { timeout: 25_000 }) as T
}

const SIGNED_UP_V1 = {
  type: 'object',
  required: ['plan'],
  properties: { plan: { type: 'string', enum: ['free', 'pro'] }, seats: { type: 'integer', minimum: 1 } },
}

function signedUp(properties: Record<string, unknown>, context?: Record<string, unknown>) {
  return { type: 'track', name: 'Signed Up', userId: 'u1', properties, ...(context ? { context } : {}) }
}

function planWithSignedUp(): TrackingPlan {
  const plan = new TrackingPlan('p1')
  plan.register({ eventType: 'track', eventName: 'Signed Up', version: '1-0-0', jsonSchema: SIGNED_UP_V1 })
  return plan
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(AppError)
    return (err as AppError).code
  }
  return undefined
}

describe('parseSchemaVer / compareSchemaVer', () => {
  it('should parse MODEL-REVISION-ADDITION and refuse anything else', () => {
    expect(parseSchemaVer('1-0-2')).toEqual({ model: 1, revision: 0, addition: 2 })
    for (const bad of ['1.0.0', '0-1-0', '01-0-0', '1-0', '1-0-0-0', '', 'a-b-c'])
      expect(parseSchemaVer(bad)).toBeNull()
  })

  it('should order versions numerically, part by part', () => {
    const v = (s: string) => parseSchemaVer(s)!
    expect(compareSchemaVer(v('1-0-10'), v('1-0-9'))).toBeGreaterThan(0)
    expect(compareSchemaVer(v('1-1-0'), v('2-0-0'))).toBeLessThan(0)
    expect(compareSchemaVer(v('3-2-1'), v('3-2-1'))).toBe(0)
  })
})

describe('TrackingPlan.register', () => {
  it('should refuse an invalid version, an existing version and a version not newer than the latest', () => {
    const plan = planWithSignedUp()
    const again = (version: string) => () =>
      plan.register({ eventType: 'track', eventName: 'Signed Up', version, jsonSchema: SIGNED_UP_V1 })
    expect(codeOf(again('1.0.1'))).toBe('schema_version_invalid')
    expect(codeOf(again('1-0-0'))).toBe('schema_version_exists')
    plan.register({ eventType: 'track', eventName: 'Signed Up', version: '1-1-0', jsonSchema: SIGNED_UP_V1 })
    expect(codeOf(again('1-0-5'))).toBe('schema_version_not_newer')
  })

  it("should refuse an invalid JSON Schema with schema_invalid and Ajv's message", () => {
    const plan = new TrackingPlan()
    const register = (jsonSchema: Record<string, unknown>) => () =>
      plan.register({ eventType: 'track', eventName: 'X', version: '1-0-0', jsonSchema })
    try {
      register({ type: 'object', requried: ['plan'] })()
      expect.unreachable()
    } catch (err) {
      expect(err).toMatchObject({
        code: 'schema_invalid',
        message: expect.stringContaining('unknown keyword: "requried"'),
      })
    }
    expect(codeOf(register({ type: 'objekt' }))).toBe('schema_invalid')
    expect(codeOf(register({ $ref: '#/definitions/missing' }))).toBe('schema_invalid')
    expect(codeOf(register({ $schema: 'http://json-schema.org/draft-04/schema#' }))).toBe('schema_invalid')
    expect(codeOf(register({ type: 'string', pattern: '(' }))).toBe('schema_invalid')
    expect(plan.size).toBe(0)
  })

  it('should register the ReDoS patterns and answer a hostile value at once (linear-time engine)', () => {
    const plan = new TrackingPlan()
    plan.register({
      eventType: 'track',
      eventName: 'X',
      version: '1-0-0',
      jsonSchema: {
        type: 'object',
        properties: {
          alt: { type: 'string', pattern: '^(a|a)*$' },
          overlap: { type: 'string', pattern: '^(a|aa)+$' },
          digits: { type: 'string', pattern: '^\\d*\\d*\\d*\\d*\\d*\\d*x$' },
          nested: { type: 'string', pattern: '^(a+)+$' },
        },
        patternProperties: { '^x_(\\w+\\s?)*$': { type: 'string' } },
      },
    })
    // A backtracking engine takes 1.15 s on the first value and doubles per character: on the 64-character
    // ones it would never finish. Run once, not timed.
    const hostile = `${'a'.repeat(26)}!`
    const longer = `${'a'.repeat(64)}!`
    const result = unlessItHangs(() =>
      validator.validate(
        {
          type: 'track',
          name: 'X',
          userId: 'u',
          properties: { alt: hostile, overlap: longer, digits: `${'1'.repeat(64)}!`, nested: longer },
        },
        { trackingPlan: plan, enforcement: 'block' },
      ),
    )
    expect(result.ok).toBe(false)
    expect(!result.ok && result.errors.map((e) => `${e.path} ${e.code}`).sort()).toEqual([
      '/properties/alt schema_violation',
      '/properties/digits schema_violation',
      '/properties/nested schema_violation',
      '/properties/overlap schema_violation',
    ])
    const fine = validator.validate(
      {
        type: 'track',
        name: 'X',
        userId: 'u',
        properties: { alt: 'aaa', overlap: 'aaa', digits: '12x', nested: 'a' },
      },
      { trackingPlan: plan, enforcement: 'block' },
    )
    expect(fine).toMatchObject({ ok: true })
  })

  it('should keep ordinary patterns working exactly as before', () => {
    const plan = new TrackingPlan()
    plan.register({
      eventType: 'track',
      eventName: 'X',
      version: '1-0-0',
      jsonSchema: {
        type: 'object',
        properties: {
          slug: { type: 'string', pattern: '^[a-z0-9_]+$' },
          month: { type: 'string', pattern: '^\\d{4}-\\d{2}$' },
          word: { type: 'string', pattern: '^\\p{L}+$' },
          email: { type: 'string', pattern: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$' },
          sku: { type: 'string', pattern: 'SKU-[0-9]{6}' },
          // Data that merely contains a "pattern" key is not a regex.
          shape: { type: 'object', default: { pattern: '(a)\\1' } },
        },
        patternProperties: { '^x_[a-z]+$': { type: 'integer' } },
      },
    })
    const check = (properties: Record<string, unknown>) =>
      validator.validate(
        { type: 'track', name: 'X', userId: 'u', properties },
        { trackingPlan: plan, enforcement: 'block' },
      )
    expect(
      check({
        slug: 'sign_up_2',
        month: '2026-05',
        word: 'Ωmega',
        email: 'a@b.co',
        sku: 'x SKU-123456',
        x_n: 1,
      }),
    ).toMatchObject({ ok: true })
    const bad = check({
      slug: 'Sign Up',
      month: '2026-5',
      word: 'abc1',
      email: 'a b@c.d',
      sku: 'SKU-12',
      x_n: 'one',
    })
    expect(!bad.ok && bad.errors.map((e) => e.path).sort()).toEqual([
      '/properties/email',
      '/properties/month',
      '/properties/sku',
      '/properties/slug',
      '/properties/word',
      '/properties/x_n',
    ])
    // \s is JavaScript's (it includes NBSP and the line separators), . stops at \u2028 as JavaScript's does.
    expect(check({ email: 'a\u00a0b@c.d' }).ok).toBe(false)
    expect(check({ word: 'a\u2028' }).ok).toBe(false)
  })

  it('should refuse patterns the linear-time engine cannot run, naming the pattern and why', () => {
    const plan = new TrackingPlan()
    const register = (jsonSchema: Record<string, unknown>) =>
      plan.register({ eventType: 'track', eventName: 'X', version: '1-0-0', jsonSchema })
    try {
      register({ type: 'object', properties: { sku: { type: 'string', pattern: '^(a)\\1$' } } })
      expect.unreachable()
    } catch (err) {
      expect(err).toMatchObject({
        code: 'schema_invalid',
        message: expect.stringMatching(/"\^\(a\)\\\\1\$" at \/properties\/sku\/pattern .*backreferences/),
        details: {
          unsafePatterns: [
            {
              path: '/properties/sku/pattern',
              pattern: '^(a)\\1$',
              reason: expect.stringContaining('backreferences'),
            },
          ],
        },
      })
    }
    const reasonOf = (jsonSchema: Record<string, unknown>) => {
      try {
        register(jsonSchema)
      } catch (err) {
        expect(err).toMatchObject({ code: 'schema_invalid' })
        return (err as AppError).message
      }
      return 'accepted'
    }
    expect(reasonOf({ type: 'object', patternProperties: { '^(?!internal_)': {} } })).toMatch(
      /\/patternProperties\/\^\(\?!internal_\).*lookahead/,
    )
    expect(reasonOf({ properties: { p: { pattern: '(?<=\\$)\\d+' } } })).toMatch(/lookbehind/)
    expect(reasonOf({ properties: { p: { pattern: '^.{1,5000}$' } } })).toMatch(/repeat count/)
    expect(reasonOf({ properties: { p: { pattern: '\\p{Script_Extensions=Greek}' } } })).toMatch(
      /not supported/,
    )
    // As Ajv's strict mode did: a property that a sibling patternProperties regex also matches.
    expect(reasonOf({ properties: { x_a: {} }, patternProperties: { '^x_': {} } })).toMatch(
      /property "x_a" .* matches patternProperties "\^x_"/,
    )
    expect(plan.size).toBe(0)
  })

  it('should still load a stored schema whose patterns are now refused, and run what it can in linear time', () => {
    const stored = (eventName: string, pattern: string) =>
      storedSchema({
        projectId: 'default',
        eventName,
        jsonSchema: { type: 'object', properties: { v: { type: 'string', pattern } } },
      })
    // Saved before this check: ingest must not break. The ReDoS pattern, which the old check let through,
    // runs on the linear-time engine; the lookahead cannot, and never runs on JavaScript's backtracking one
    // (`^(?=a)(a+)+$` froze a server for minutes): that version is unusable, its events told why.
    const plan = TrackingPlan.fromStoredSchemas([
      stored('Legacy', '^(?=a)(a+)+$'),
      stored('Hostile', '^(a|a)*$'),
    ])
    expect(plan.size).toBe(2)
    const check = (name: string, v: string) =>
      validator.validate(
        { type: 'track', name, userId: 'u', properties: { v } },
        { trackingPlan: plan, enforcement: 'block' },
      )
    const legacy = unlessItHangs(() => check('Legacy', `${'a'.repeat(40)}!`))
    expect(legacy.ok).toBe(false)
    expect(JSON.stringify(legacy)).toMatch(/cannot be used/)
    expect(plan.listSchemas().find((s) => s.eventName === 'Legacy')?.unusable).toMatch(/lookahead|look/i)
    expect(unlessItHangs(() => check('Hostile', `${'a'.repeat(64)}!`)).ok).toBe(false)
  })

  it('should refuse unknown event types and names on nameless types', () => {
    const plan = new TrackingPlan()
    expect(
      codeOf(() =>
        plan.register({ eventType: 'purchase' as 'track', eventName: 'X', version: '1-0-0', jsonSchema: {} }),
      ),
    ).toBe('validation_failed')
    expect(
      codeOf(() =>
        plan.register({ eventType: 'identify', eventName: 'X', version: '1-0-0', jsonSchema: {} }),
      ),
    ).toBe('validation_failed')
  })

  it('should accept draft-07 and 2020-12 schemas, and the same $id in two versions', () => {
    const plan = new TrackingPlan()
    plan.register({
      eventType: 'track',
      eventName: 'A',
      version: '1-0-0',
      jsonSchema: {
        $schema: 'http://json-schema.org/draft-07/schema#',
        $id: 'https://x.test/a',
        type: 'object',
        definitions: { n: { type: 'number' } },
        properties: { n: { $ref: '#/definitions/n' } },
      },
    })
    plan.register({
      eventType: 'track',
      eventName: 'A',
      version: '2-0-0',
      jsonSchema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        $id: 'https://x.test/a',
        type: 'object',
        $defs: { n: { type: 'string' } },
        properties: { n: { $ref: '#/$defs/n' } },
      },
    })
    const pinned = (version: string, n: unknown) =>
      validator.validate(
        { type: 'track', name: 'A', userId: 'u', properties: { n }, context: { schema: { version } } },
        { trackingPlan: plan, enforcement: 'block' },
      )
    expect(pinned('1-0-0', 1).ok).toBe(true)
    expect(pinned('1-0-0', 'x').ok).toBe(false)
    expect(pinned('2-0-0', 'x').ok).toBe(true)
    expect(pinned('2-0-0', 1).ok).toBe(false)
  })

  it('should round-trip through StoredSchema[] in any order', () => {
    const plan = planWithSignedUp()
    plan.register({
      eventType: 'track',
      eventName: 'Signed Up',
      version: '1-0-1',
      jsonSchema: { ...SIGNED_UP_V1, required: [] },
    })
    plan.register({
      eventType: 'identify',
      eventName: '*',
      version: '1-0-0',
      jsonSchema: { type: 'object', required: ['email'] },
    })
    const stored: StoredSchema[] = plan.listSchemas().reverse()
    const copy = TrackingPlan.fromStoredSchemas(stored, 'p1')
    expect(
      copy
        .listSchemas()
        .map((s) => `${s.eventType}/${s.eventName}@${s.version}`)
        .sort(),
    ).toEqual(['identify/*@1-0-0', 'track/Signed Up@1-0-0', 'track/Signed Up@1-0-1'])
    expect(copy.getSchema('track', 'Signed Up')?.version).toBe('1-0-1')
    expect(stored[0]).toMatchObject({
      projectId: 'p1',
      jsonSchema: expect.any(Object),
      createdAt: expect.any(String),
    })
  })
})

describe('TrackingPlan and recursive schemas', () => {
  const SELF_REFERENCING = { type: 'object', allOf: [{ $ref: '#' }] }
  const TREE = {
    type: 'object',
    required: ['name'],
    properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#' } } },
  }
  const register = (plan: TrackingPlan, jsonSchema: Record<string, unknown>) =>
    plan.register({ eventType: 'track', eventName: 'Tree', version: '1-0-0', jsonSchema })

  it('should refuse a schema that applies itself to the same value (it overflowed the stack on every event)', () => {
    const plan = new TrackingPlan()
    try {
      register(plan, SELF_REFERENCING)
      expect.unreachable()
    } catch (err) {
      expect(err).toMatchObject({
        code: 'schema_invalid',
        message: expect.stringContaining('(# → #/allOf/0 → #)'),
        details: { refCycle: ['#', '#/allOf/0', '#'] },
      })
    }
    // A cycle of $refs alone: the cycle is named (Ajv's own compile would only overflow).
    try {
      register(plan, {
        definitions: { a: { $ref: '#/definitions/b' }, b: { $ref: '#/definitions/a' } },
        $ref: '#/definitions/a',
      })
      expect.unreachable()
    } catch (err) {
      expect(err).toMatchObject({ code: 'schema_invalid', details: { refCycle: expect.any(Array) } })
    }
    expect(plan.size).toBe(0)
  })

  it('should accept a recursive tree schema and validate every level', () => {
    const plan = new TrackingPlan()
    register(plan, TREE)
    const check = (properties: Record<string, unknown>) =>
      validator.validate(
        { type: 'track', name: 'Tree', userId: 'u', properties },
        { trackingPlan: plan, enforcement: 'block' },
      )
    expect(check({ name: 'root', children: [{ name: 'a', children: [{ name: 'b' }] }] })).toMatchObject({
      ok: true,
    })
    expect(check({ name: 'root', children: [{ name: 'a', children: [{ title: 'b' }] }] })).toMatchObject({
      ok: false,
      errors: [{ path: '/properties/children/0/children/0/name', code: 'schema_violation' }],
    })
  })

  it('should report a stored schema with a ref cycle as unusable on each event, not a stack overflow', () => {
    // Saved before the check: the plan still loads; its events get a finding naming the schema (a warning
    // in allow/warn, a rejection in block) instead of overflowing the stack, ~5 ms each, in every mode.
    const plan = TrackingPlan.fromStoredSchemas([
      storedSchema({ projectId: 'default', eventName: 'Tree', jsonSchema: SELF_REFERENCING }),
    ])
    const finding = {
      path: '/properties',
      code: 'schema_violation',
      message: expect.stringMatching(/track\/Tree 1-0-0 cannot be used \(.*without end/),
    }
    for (const enforcement of ['allow', 'warn'] as const) {
      expect(
        validator.validate(
          { type: 'track', name: 'Tree', userId: 'u', properties: {} },
          { trackingPlan: plan, enforcement },
        ),
      ).toMatchObject({ ok: true, warnings: [finding] })
    }
    expect(
      validator.validate(
        { type: 'track', name: 'Tree', userId: 'u', properties: {} },
        { trackingPlan: plan, enforcement: 'block' },
      ),
    ).toMatchObject({ ok: false, errors: [finding] })
  })

  it('should report the first problems of a long array failing a two-branch anyOf, not format all of them', () => {
    // 5,000 numbers against `anyOf: [string, boolean]`: Ajv answers in ~40 ms, turning its 15,000 errors
    // into issues took 30 s (each error matched against every group) — for 19 issues and a cut.
    const plan = new TrackingPlan('default')
    plan.register({
      eventType: 'track',
      eventName: 'Tagged',
      version: '1-0-0',
      jsonSchema: {
        type: 'object',
        properties: { a: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'boolean' }] } } },
      },
    })
    const result = validator.validate(
      {
        type: 'track',
        name: 'Tagged',
        userId: 'u',
        properties: { a: Array.from({ length: 5000 }, () => 1) },
      },
      { trackingPlan: plan, enforcement: 'block' },
    )
    expect(result.ok).toBe(false)
    const errors = (result as { errors: { path: string; code: string }[] }).errors
    expect(errors).toHaveLength(20)
    expect(errors[0]).toMatchObject({ path: '/properties/a/0', code: 'schema_violation' })
    expect(errors[19].code).toBe('too_many_errors')
  })

  it('should refuse a schema that checks one value 2^32 times, and keep a stored one unusable, not run', () => {
    // 32 definitions each applying the next twice: one event blocked the server for 34 s (and one that
    // failed them all ran it out of memory); a server restarted on the stored schema crashed again.
    const definitions: Record<string, unknown> = {}
    for (let i = 0; i < 32; i++) {
      const next = { $ref: `#/definitions/d${i + 1}` }
      definitions[`d${i}`] = { allOf: [next, next] }
    }
    definitions.d32 = { type: 'string' }
    const fanOut = { definitions, properties: { a: { $ref: '#/definitions/d0' } } }
    expect(() =>
      new TrackingPlan('default').register({
        eventType: 'track',
        eventName: 'Fanout',
        version: '1-0-0',
        jsonSchema: fanOut,
      }),
    ).toThrow(/more than 1000 subschemas/)
    const plan = TrackingPlan.fromStoredSchemas([
      storedSchema({ projectId: 'default', eventName: 'Fanout', jsonSchema: fanOut }),
    ])
    const result = validator.validate(
      { type: 'track', name: 'Fanout', userId: 'u', properties: { a: 1 } },
      { trackingPlan: plan, enforcement: 'block' },
    )
    expect(result).toMatchObject({
      ok: false,
      errors: [{ code: 'schema_violation', message: expect.stringMatching(/Fanout 1-0-0 cannot be used/) }],
    })
  })

  it('tally validate --schemas: loadSchemaDir should refuse the self-referencing schema, naming its file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-schemas-'))
    mkdirSync(join(dir, 'track', 'Tree'), { recursive: true })
    writeFileSync(join(dir, 'track', 'Tree', '1-0-0.json'), JSON.stringify(TREE))
    expect((await loadSchemaDir(dir)).size).toBe(1)
    mkdirSync(join(dir, 'track', 'Loop'), { recursive: true })
    writeFileSync(join(dir, 'track', 'Loop', '1-0-0.json'), JSON.stringify(SELF_REFERENCING))
    await expect(loadSchemaDir(dir)).rejects.toMatchObject({
      code: 'schema_invalid',
      message: expect.stringMatching(/Loop[/\\]1-0-0\.json: the schema applies itself to the same value/),
      details: { refCycle: ['#', '#/allOf/0', '#'] },
    })
  })

  it('tally validate --schemas: loadSchemaDir should refuse a backreference, and take a ReDoS pattern', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-schemas-'))
    const write = (name: string, pattern: string) => {
      mkdirSync(join(dir, 'track', name), { recursive: true })
      writeFileSync(
        join(dir, 'track', name, '1-0-0.json'),
        JSON.stringify({ type: 'object', properties: { v: { type: 'string', pattern } } }),
      )
    }
    write('Alt', '^(a|a)*$')
    const plan = await loadSchemaDir(dir)
    expect(
      unlessItHangs(() =>
        validator.validate(
          { type: 'track', name: 'Alt', userId: 'u', properties: { v: `${'a'.repeat(64)}!` } },
          { trackingPlan: plan, enforcement: 'block' },
        ),
      ),
    ).toMatchObject({ ok: false, errors: [{ path: '/properties/v', code: 'schema_violation' }] })
    write('Backref', '^(a)\\1$')
    await expect(loadSchemaDir(dir)).rejects.toMatchObject({
      code: 'schema_invalid',
      message: expect.stringMatching(/Backref[/\\]1-0-0\.json: the regex .* backreferences/),
    })
  })
})

describe('TrackingPlan compatibility report', () => {
  const next = (jsonSchema: Record<string, unknown>, version = '1-0-1') => {
    const plan = planWithSignedUp()
    return plan.register({ eventType: 'track', eventName: 'Signed Up', version, jsonSchema }).compatibility!
  }

  it('should be null for the first version', () => {
    const plan = new TrackingPlan()
    expect(
      plan.register({ eventType: 'page', eventName: '*', version: '1-0-0', jsonSchema: {} }).compatibility,
    ).toBeNull()
  })

  it('should call an added optional property compatible', () => {
    const report = next({
      ...SIGNED_UP_V1,
      properties: { ...SIGNED_UP_V1.properties, source: { type: 'string' } },
    })
    expect(report).toMatchObject({
      previousVersion: '1-0-0',
      version: '1-0-1',
      compatible: true,
      bump: 'addition',
    })
    expect(report.changes).toEqual([
      expect.objectContaining({ path: '/source', kind: 'property_added', breaking: false }),
    ])
  })

  const breaking: [string, Record<string, unknown>, string, string][] = [
    [
      'a removed property where unlisted ones are refused',
      { ...SIGNED_UP_V1, properties: { plan: SIGNED_UP_V1.properties.plan }, additionalProperties: false },
      '/seats',
      'property_removed',
    ],
    ['a newly required field', { ...SIGNED_UP_V1, required: ['plan', 'seats'] }, '/seats', 'required_added'],
    [
      'a narrowed type',
      { ...SIGNED_UP_V1, properties: { ...SIGNED_UP_V1.properties, seats: { type: 'string' } } },
      '/seats',
      'type_narrowed',
    ],
    [
      'a removed enum value',
      {
        ...SIGNED_UP_V1,
        properties: { ...SIGNED_UP_V1.properties, plan: { type: 'string', enum: ['pro'] } },
      },
      '/plan',
      'enum_value_removed',
    ],
    [
      'a tighter bound',
      { ...SIGNED_UP_V1, properties: { ...SIGNED_UP_V1.properties, seats: { type: 'integer', minimum: 5 } } },
      '/seats',
      'bound_tightened',
    ],
    [
      'closed additionalProperties',
      { ...SIGNED_UP_V1, additionalProperties: false },
      '',
      'additional_properties_closed',
    ],
    ['an unanalysed keyword', { ...SIGNED_UP_V1, anyOf: [{ required: ['plan'] }] }, '', 'unanalysed_change'],
  ]
  for (const [what, schema, path, kind] of breaking) {
    it(`should report ${what} as breaking (${kind} at "${path}")`, () => {
      const report = next(schema)
      expect(report.compatible).toBe(false)
      expect(report.changes).toContainEqual(
        expect.objectContaining({ path, kind, breaking: true, reason: expect.any(String) }),
      )
      expect(report.bumpAdvice).toMatch(/MODEL/)
    })
  }

  it('should call a removed property compatible where unlisted ones are accepted, and number → integer no widening (a trial)', () => {
    const removed = next({ ...SIGNED_UP_V1, properties: { plan: SIGNED_UP_V1.properties.plan } })
    expect(removed.compatible).toBe(true)
    expect(removed.changes).toEqual([expect.objectContaining({ kind: 'property_removed', breaking: false })])
    // …but not where property names are constrained (a re-check trial: "any value is accepted" for a name
    // propertyNames now refuses).
    const named = diffSchemas(
      { properties: { a: { type: 'number' }, b: { type: 'string' } } },
      { properties: { a: { type: 'number' } }, propertyNames: { enum: ['a'] } },
    )
    expect(named).toContainEqual(expect.objectContaining({ kind: 'property_removed', breaking: true }))
    const narrowed = diffSchemas({ type: 'number' }, { type: 'integer' })
    expect(narrowed.map((c) => c.kind)).toEqual(['type_narrowed'])
  })

  it('should see no change in a schema whose objects come back with their keys reordered (PostgreSQL jsonb)', () => {
    // A trial: the same schema registered again as 1-1-0 was "breaking" on PostgreSQL ($defs changed).
    const sent = {
      type: 'object',
      $defs: { money: { type: 'number', minimum: 0 }, sku: { type: 'string', pattern: '^[A-Z]+$' } },
      properties: { total: { $ref: '#/$defs/money' }, kind: { enum: [{ a: 1, b: 2 }, 'x'] } },
      oneOf: [{ required: ['total'] }, { required: ['kind'] }],
    }
    const reordered = JSON.parse(
      '{"type":"object","oneOf":[{"required":["total"]},{"required":["kind"]}],"$defs":{"sku":{"pattern":"^[A-Z]+$","type":"string"},"money":{"minimum":0,"type":"number"}},"properties":{"kind":{"enum":[{"b":2,"a":1},"x"]},"total":{"$ref":"#/$defs/money"}}}',
    )
    expect(diffSchemas(sent, reordered)).toEqual([])
    expect(diffSchemas(reordered, sent)).toEqual([])
  })

  it('should advise REVISION or MODEL for a breaking ADDITION, and nothing for a breaking REVISION (SchemaVer)', () => {
    const breakingChange = { ...SIGNED_UP_V1, required: ['plan', 'seats'] }
    expect(next(breakingChange, '1-0-1').bumpAdvice).toMatch(/REVISION \(e\.g\. 1-1-0\) or MODEL \(2-0-0\)/)
    expect(next(breakingChange, '1-1-0').bumpAdvice).toBeUndefined()
  })

  it('should not advise a bump when a breaking change raises MODEL, and call widening compatible', () => {
    expect(next({ ...SIGNED_UP_V1, required: ['plan', 'seats'] }, '2-0-0')).toMatchObject({
      compatible: false,
      bump: 'model',
    })
    expect(next({ ...SIGNED_UP_V1, required: ['plan', 'seats'] }, '2-0-0').bumpAdvice).toBeUndefined()
    const widened = next({
      ...SIGNED_UP_V1,
      required: [],
      properties: { ...SIGNED_UP_V1.properties, seats: { type: 'number' } },
    })
    expect(widened.compatible).toBe(true)
    expect(widened.changes.map((c) => c.kind).sort()).toEqual([
      'bound_loosened',
      'required_removed',
      'type_widened',
    ])
  })
})

describe('EventValidator with a tracking plan', () => {
  const plan = planWithSignedUp()
  const run = (input: unknown, enforcement: 'allow' | 'warn' | 'block') =>
    validator.validate(input, { trackingPlan: plan, enforcement })

  it('should accept a conforming event in every mode and name the schema version', () => {
    for (const mode of ['allow', 'warn', 'block'] as const) {
      expect(run(signedUp({ plan: 'pro' }), mode)).toMatchObject({
        ok: true,
        warnings: [],
        schema: { name: 'track/Signed Up', version: '1-0-0' },
      })
    }
  })

  it('allow: should pass unplanned events silently and return violations as warnings', () => {
    expect(run(validEvents().page, 'allow')).toMatchObject({ ok: true, warnings: [], schema: null })
    const r = run(signedUp({ plan: 'gold' }), 'allow')
    expect(r).toMatchObject({ ok: true, warnings: [{ path: '/properties/plan', code: 'schema_violation' }] })
  })

  it('warn: should pass unplanned events with unknown_event and violations as warnings', () => {
    expect(run(validEvents().page, 'warn')).toMatchObject({
      ok: true,
      warnings: [{ path: '/type', code: 'unknown_event' }],
      schema: null,
    })
    expect(run({ ...validEvents().track, name: 'Other' }, 'warn')).toMatchObject({
      ok: true,
      warnings: [{ path: '/name', code: 'unknown_event' }],
    })
    const r = run(signedUp({ seats: 0 }), 'warn')
    expect(r.ok && r.warnings.map((w) => `${w.code} ${w.path}`).sort()).toEqual([
      'schema_violation /properties/plan',
      'schema_violation /properties/seats',
    ])
  })

  it('block: should reject unplanned events and violations with the precise path', () => {
    expect(run(validEvents().page, 'block')).toMatchObject({
      ok: false,
      errors: [{ path: '/type', code: 'unknown_event' }],
    })
    expect(run(signedUp({ plan: 'pro', seats: 1.5 }), 'block')).toMatchObject({
      ok: false,
      errors: [{ path: '/properties/seats', code: 'schema_violation' }],
    })
    expect(run(signedUp({}), 'block')).toMatchObject({
      ok: false,
      errors: [{ path: '/properties/plan', code: 'schema_violation' }],
    })
    expect(run({ type: 'track', name: 'Signed Up', userId: 'u' }, 'block')).toMatchObject({
      ok: false,
      errors: [{ path: '/properties/plan' }],
    })
  })

  it('should validate the pinned version, and report an unknown pinned version', () => {
    const versions = planWithSignedUp()
    versions.register({
      eventType: 'track',
      eventName: 'Signed Up',
      version: '2-0-0',
      jsonSchema: { type: 'object', required: ['tier'] },
    })
    const opts = { trackingPlan: versions, enforcement: 'block' as const }
    expect(validator.validate(signedUp({ plan: 'pro' }), opts)).toMatchObject({
      ok: false,
      errors: [{ path: '/properties/tier' }],
    })
    expect(
      validator.validate(signedUp({ plan: 'pro' }, { schema: { version: '1-0-0' } }), opts),
    ).toMatchObject({ ok: true, schema: { version: '1-0-0' } })
    expect(validator.validate(signedUp({ tier: 1 }, { schema: { version: '9-0-0' } }), opts)).toMatchObject({
      ok: false,
      errors: [{ path: '/context/schema/version', code: 'unknown_schema_version' }],
    })
    const warned = validator.validate(signedUp({ tier: 1 }, { schema: { version: '9-0-0' } }), {
      trackingPlan: versions,
      enforcement: 'warn',
    })
    expect(warned).toMatchObject({
      ok: true,
      warnings: [{ code: 'unknown_schema_version' }],
      schema: { version: '2-0-0' },
    })
  })

  it('should apply a type-wide "*" schema, validate traits for identify and treat alias as planned by "*"', () => {
    const wide = new TrackingPlan()
    wide.register({
      eventType: 'performance',
      eventName: '*',
      version: '1-0-0',
      jsonSchema: { type: 'object', properties: { value: { maximum: 60000 } } },
    })
    wide.register({
      eventType: 'identify',
      eventName: '*',
      version: '1-0-0',
      jsonSchema: { type: 'object', required: ['email'] },
    })
    wide.register({ eventType: 'alias', eventName: '*', version: '1-0-0', jsonSchema: {} })
    const opts = { trackingPlan: wide, enforcement: 'block' as const }
    expect(
      validator.validate({ ...validEvents().performance, properties: { value: 70000 } }, opts),
    ).toMatchObject({
      ok: false,
      errors: [{ path: '/properties/value', code: 'schema_violation' }],
    })
    expect(validator.validate(validEvents().performance, opts)).toMatchObject({
      ok: true,
      schema: { name: 'performance/*' },
    })
    expect(validator.validate({ ...validEvents().identify, traits: {} }, opts)).toMatchObject({
      ok: false,
      errors: [{ path: '/traits/email' }],
    })
    expect(validator.validate(validEvents().alias, opts)).toMatchObject({
      ok: true,
      schema: { name: 'alias/*' },
    })
  })

  it('block without a plan: every event is unplanned', () => {
    expect(validator.validate(validEvents().track, { enforcement: 'block' })).toMatchObject({
      ok: false,
      errors: [{ code: 'unknown_event' }],
    })
  })
})

describe('uniqueItems (Ajv checks items of any type pair by pair)', () => {
  const validator = new EventValidator()
  const check = (plan: TrackingPlan, event: Record<string, unknown>) =>
    validator.validate(event, { trackingPlan: plan, enforcement: 'block' })
  const register = (plan: TrackingPlan, name: string, tags: Record<string, unknown>) =>
    plan.register({
      eventType: 'track',
      eventName: name,
      version: '1-0-0',
      jsonSchema: { properties: { tags } },
    })

  it('should refuse unbounded uniqueItems on untyped or object items, naming the fixes', () => {
    const plan = new TrackingPlan('p1')
    expect(() => register(plan, 'A', { type: 'array', uniqueItems: true })).toThrow(
      /\/properties\/tags\/uniqueItems: .*give "items" a scalar "type".* "maxItems" to at most 200/,
    )
    expect(
      codeOf(() => register(plan, 'B', { type: 'array', uniqueItems: true, items: { type: 'object' } })),
    ).toBe('schema_invalid')
    expect(codeOf(() => register(plan, 'C', { type: 'array', uniqueItems: true, maxItems: 5_000 }))).toBe(
      'schema_invalid',
    )
  })

  it('should take uniqueItems on scalar items at any length, or bounded by maxItems, and still check it', () => {
    const plan = new TrackingPlan('p1')
    register(plan, 'Typed', { type: 'array', uniqueItems: true, items: { type: ['string', 'integer'] } })
    register(plan, 'Bounded', { type: 'array', uniqueItems: true, maxItems: 200 })
    register(plan, 'Off', { type: 'array', uniqueItems: false })
    const many = Array.from({ length: 5_500 }, (_, i) => i)
    expect(check(plan, { type: 'track', name: 'Typed', userId: 'u', properties: { tags: many } }).ok).toBe(
      true,
    )
    expect(check(plan, { type: 'track', name: 'Typed', userId: 'u', properties: { tags: [1, 1] } }).ok).toBe(
      false,
    )
    expect(
      check(plan, { type: 'track', name: 'Bounded', userId: 'u', properties: { tags: [{ a: 1 }, { a: 1 }] } })
        .ok,
    ).toBe(false)
  })
})

describe('long enums (a trial hung the server with two versions of a 40,000-value enum)', () => {
  const enumSchema = (n: number) => ({
    properties: { plan: { enum: Array.from({ length: n }, (_, i) => `v${i}`) } },
  })

  it('should refuse an enum over the limit with schema_invalid naming it', () => {
    const plan = new TrackingPlan('p1')
    expect(() =>
      plan.register({ eventType: 'track', eventName: 'E', version: '1-0-0', jsonSchema: enumSchema(5_001) }),
    ).toThrow(/\/properties\/plan\/enum lists 5001 values; an enum may list at most 5000/)
    const many = {
      properties: Object.fromEntries(
        Array.from({ length: 5 }, (_, k) => [`p${k}`, enumSchema(4_500).properties.plan]),
      ),
    }
    expect(
      codeOf(() => plan.register({ eventType: 'track', eventName: 'E', version: '1-0-0', jsonSchema: many })),
    ).toBe('schema_invalid')
  })

  it('should report the one value a new version of a long enum removes', () => {
    const plan = new TrackingPlan('p1')
    plan.register({ eventType: 'track', eventName: 'E', version: '1-0-0', jsonSchema: enumSchema(5_000) })
    const next = plan.register({
      eventType: 'track',
      eventName: 'E',
      version: '1-0-1',
      jsonSchema: enumSchema(4_999),
    })
    const removed = (next.compatibility?.changes ?? []).filter((c) => c.kind === 'enum_value_removed')
    expect(removed).toEqual([
      expect.objectContaining({ path: '/plan', reason: 'no longer allowed: "v4999"' }),
    ])
  })

  it('should still load long enums stored before the limit, and validate with them', () => {
    const stored = ['1-0-0', '1-0-1'].map((version, i) => ({
      projectId: 'p1',
      eventType: 'track' as const,
      eventName: 'E',
      version,
      jsonSchema: enumSchema(40_000 - i),
      createdAt: '2026-11-27T00:00:00.000Z',
    }))
    const plan = TrackingPlan.fromStoredSchemas(stored, 'p1')
    const issues = new IssueList(10)
    const ok = plan.check(
      { type: 'track', name: 'E', userId: 'u', properties: { plan: 'v39998' } } as never,
      'block',
      issues,
    )
    expect(ok.reject).toBe(false)
  })
})

describe('plan violations name their rule', () => {
  it('should name the keyword where the message did not (minItems, uniqueItems, multipleOf)', () => {
    const plan = new TrackingPlan('p1')
    plan.register({
      eventType: 'track',
      eventName: 'Cart',
      version: '1-0-0',
      jsonSchema: {
        type: 'object',
        properties: {
          items: { type: 'array', minItems: 1 },
          tags: { type: 'array', uniqueItems: true, maxItems: 10 },
          qty: { type: 'number', multipleOf: 5 },
        },
      },
    })
    const issues = new IssueList(10)
    const event = {
      type: 'track',
      name: 'Cart',
      userId: 'u',
      properties: { items: [], tags: [1, 1], qty: 3 },
    }
    expect(plan.check(event as never, 'block', issues).reject).toBe(true)
    expect(issues.items.map((i) => [i.path, i.code, i.message.split(':')[0]])).toEqual([
      ['/properties/items', 'schema_violation', 'minItems'],
      ['/properties/tags', 'schema_violation', 'uniqueItems'],
      ['/properties/qty', 'schema_violation', 'multipleOf'],
    ])
  })
})

describe('schemas that could never apply', () => {
  it('should refuse a name events never carry (untrimmed, doubled or only whitespace)', () => {
    const plan = new TrackingPlan('p1')
    for (const eventName of [' Signed Up', 'Signed  Up', ' ']) {
      expect(
        codeOf(() => plan.register({ eventType: 'track', eventName, version: '1-0-0', jsonSchema: {} })),
      ).toBe('validation_failed')
    }
  })

  it('should refuse a root type that is not an object (properties always are)', () => {
    const plan = new TrackingPlan('p1')
    for (const type of ['string', 'array', ['string', 'null']]) {
      expect(() =>
        plan.register({ eventType: 'track', eventName: 'E', version: '1-0-0', jsonSchema: { type } }),
      ).toThrow(/always an object/)
    }
    plan.register({
      eventType: 'track',
      eventName: 'E',
      version: '1-0-0',
      jsonSchema: { type: ['object', 'null'] },
    })
  })
})

describe('TrackingPlan: schemas that broke a project (trial, 2026-11-27)', () => {
  const stored = (eventName: string, jsonSchema: Record<string, unknown>, version = '1-0-0') =>
    storedSchema({ eventName, jsonSchema, version, createdAt: '2026-11-27T00:00:00.000Z' })
  const check = (plan: TrackingPlan, event: Record<string, unknown>, mode: 'allow' | 'block' = 'block') =>
    validator.validate(event, { trackingPlan: plan, enforcement: mode })

  it('should refuse $async (its validator answered a Promise, and an invalid event killed the process)', () => {
    const plan = new TrackingPlan('p1')
    const async = {
      $async: true,
      type: 'object',
      required: ['must'],
      properties: { must: { type: 'string' } },
    }
    expect(() =>
      plan.register({ eventType: 'track', eventName: 'AsyncX', version: '1-0-0', jsonSchema: async }),
    ).toThrow(expect.objectContaining({ code: 'schema_invalid', message: expect.stringContaining('$async') }))
    // …but a property may be called "$async".
    plan.register({
      eventType: 'track',
      eventName: 'Named',
      version: '1-0-0',
      jsonSchema: { type: 'object', properties: { $async: { type: 'boolean' } }, required: ['$async'] },
    })
  })

  it('should turn a stored $async schema into a per-event finding, never a crash', () => {
    const plan = TrackingPlan.fromStoredSchemas([
      stored('AsyncX', { $async: true, type: 'object', properties: { must: { type: 'string' } } }),
      stored('Fine', { type: 'object', required: ['n'], properties: { n: { type: 'number' } } }),
    ])
    const r = check(plan, { type: 'track', name: 'AsyncX', userId: 'u', properties: { must: 5 } })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.errors[0].message).toContain('cannot be used')
    // The rest of the plan still works.
    expect(check(plan, { type: 'track', name: 'Fine', userId: 'u', properties: { n: 1 } }).ok).toBe(true)
    expect(check(plan, { type: 'track', name: 'Fine', userId: 'u', properties: { n: 'x' } }).ok).toBe(false)
  })

  it('should compile schemas whose nested $id is another schema root $id, now and after a reload', () => {
    const e0 = {
      $id: 'http://x/a',
      definitions: { d: { $id: 'http://x/d', type: 'string' } },
      properties: { v: { $ref: 'http://x/d' } },
    }
    const e1 = {
      $id: 'http://x/d',
      definitions: { q: { type: 'number' } },
      properties: { w: { $ref: '#/definitions/q' } },
    }
    const plan = new TrackingPlan('p1')
    plan.register({ eventType: 'track', eventName: 'E0', version: '1-0-0', jsonSchema: e0 })
    plan.register({ eventType: 'track', eventName: 'E1', version: '1-0-0', jsonSchema: e1 })
    const reloaded = TrackingPlan.fromStoredSchemas(plan.listSchemas())
    for (const p of [plan, reloaded]) {
      expect(check(p, { type: 'track', name: 'E0', userId: 'u', properties: { v: 'ok' } }).ok).toBe(true)
      expect(check(p, { type: 'track', name: 'E0', userId: 'u', properties: { v: 1 } }).ok).toBe(false)
      expect(check(p, { type: 'track', name: 'E1', userId: 'u', properties: { w: 1 } }).ok).toBe(true)
      expect(check(p, { type: 'track', name: 'E1', userId: 'u', properties: { w: 'x' } }).ok).toBe(false)
    }
  })

  it('should refuse $dynamicRef and $recursiveRef (a cycle through them overflowed on every event)', () => {
    const plan = new TrackingPlan('p1')
    const dynamic = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $dynamicAnchor: 'n',
      allOf: [{ $dynamicRef: '#n' }],
    }
    expect(() =>
      plan.register({ eventType: 'track', eventName: 'D', version: '1-0-0', jsonSchema: dynamic }),
    ).toThrow(expect.objectContaining({ code: 'schema_invalid' }))
  })
})

describe('TrackingPlan: schema size', () => {
  it('should refuse a schema over 64 KiB of JSON (compiling one froze the server for seconds)', () => {
    const properties: Record<string, unknown> = {}
    for (let i = 0; i < 4000; i++) properties[`field_${i}`] = { type: 'string', pattern: '^[a-z]+$' }
    const plan = new TrackingPlan('p1')
    expect(() =>
      plan.register({
        eventType: 'track',
        eventName: 'Huge',
        version: '1-0-0',
        jsonSchema: { type: 'object', properties },
      }),
    ).toThrow(
      expect.objectContaining({ code: 'schema_invalid', message: expect.stringContaining('at most 65536') }),
    )
  })
})

describe('TrackingPlan: compile cost follows schema size', () => {
  it('should compile a schema that refers many times to one large definition without copying it', () => {
    // Inlined refs made compile cost properties × references: 100 × 200 took 9.6 s, 300 × 1,500 ran out of
    // memory; each reference is now a call. (unlessItHangs: a regression fails here instead of hanging.)
    const props: Record<string, unknown> = {}
    for (let i = 0; i < 150; i++) props[`p${i}`] = { type: 'string', maxLength: 10 }
    const refs: Record<string, unknown> = {}
    for (let i = 0; i < 400; i++) refs[`r${i}`] = { $ref: '#/definitions/L' }
    const jsonSchema = {
      type: 'object',
      definitions: { L: { type: 'object', properties: props } },
      properties: refs,
    }
    const plan = unlessItHangs(() => {
      const p = new TrackingPlan('p1')
      p.register({ eventType: 'track', eventName: 'Wide', version: '1-0-0', jsonSchema })
      return p
    })
    const r = validator.validate(
      { type: 'track', name: 'Wide', userId: 'u', properties: { r7: { p3: 'too long for ten' } } },
      { trackingPlan: plan, enforcement: 'block' },
    )
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.errors[0]).toMatchObject({ path: '/properties/r7/p3' })
  })
})

describe('TrackingPlan: two registered names stored as one', () => {
  it('should apply the schema registered first, whatever order the store lists them in', () => {
    const first = storedSchema({ eventName: 'OrderDone', jsonSchema: { type: 'object', required: ['a'] } })
    const second = {
      ...first,
      eventName: 'Order Done',
      jsonSchema: { type: 'object', required: ['b'] },
      createdAt: '2026-11-02T00:00:00.000Z',
    }
    for (const listed of [
      [first, second],
      [second, first],
    ]) {
      const plan = TrackingPlan.fromStoredSchemas(listed)
      const r = validator.validate(
        { type: 'track', name: 'order_done', userId: 'u', properties: { b: 1 } },
        { trackingPlan: plan, enforcement: 'block', nameCase: 'snake_case' },
      )
      expect(r.ok).toBe(false) // checked against OrderDone's schema, which requires "a"
      if (!r.ok) expect(r.errors[0].path).toBe('/properties/a')
    }
  })

  it('should not let a later schema registered under exactly the stored name take over (a trial)', () => {
    const first = storedSchema({
      eventName: 'Order Completed',
      version: '1-1-0',
      jsonSchema: { type: 'object', properties: { total: { type: 'number' } } },
    })
    const later = { ...first, eventName: 'order_completed', version: '1-0-0', jsonSchema: { type: 'object' } }
    const plan = TrackingPlan.fromStoredSchemas([first, { ...later, createdAt: '2026-11-02T00:00:00.000Z' }])
    for (const name of ['Order Completed', 'order_completed']) {
      const r = validator.validate(
        { type: 'track', name, userId: 'u', properties: { total: 'bad' } },
        { trackingPlan: plan, enforcement: 'block', nameCase: 'snake_case' },
      )
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.errors[0].path).toBe('/properties/total')
    }
  })
})
