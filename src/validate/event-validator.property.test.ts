import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_LIMITS } from '../config/limits.js'
import { EventValidator } from './event-validator.js'
import { isIsoDateTime, isPlainText } from './formats.js'

const validator = new EventValidator()
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype'])

/** An independent statement of the hostile-input rules: true when `value` breaks one. */
function breaksHostileRule(value: unknown, depth = 1): boolean {
  if (typeof value === 'number') return !Number.isFinite(value)
  if (typeof value === 'string') return !value.isWellFormed() || value.includes('\u0000')
  if (typeof value !== 'object' || value === null) return false
  if (depth > DEFAULT_LIMITS.maxDepth) return true
  if (Array.isArray(value)) return value.some((v) => breaksHostileRule(v, depth + 1))
  return Object.keys(value).some(
    (k) =>
      FORBIDDEN.has(k) ||
      breaksHostileRule(k) ||
      breaksHostileRule((value as Record<string, unknown>)[k], depth + 1),
  )
}

// JSON text built by hand, so `__proto__` keys, lone-surrogate escapes and 1e400 reach JSON.parse as written.
const hostileKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'type',
    'name',
    'userId',
    'anonymousId',
    'properties',
    'traits',
    'context',
    'timestamp',
    'page',
  ),
  fc.string({ maxLength: 6 }),
)
const { value: jsonText } = fc.letrec<{ value: string; obj: string; arr: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(
      'null',
      'true',
      '0',
      '-0.5',
      '1e400',
      '-1e999',
      '12345678901234567890',
      '"\\ud800"',
      '"a\\u0000b"',
      '"track"',
      '"2026-01-01T00:00:00Z"',
      '"x\\ny"',
    ),
    fc.double().map((d) => (Number.isFinite(d) ? JSON.stringify(d) : '1e400')),
    fc.string({ unit: 'binary', maxLength: 8 }).map((s) => JSON.stringify(s)),
    tie('obj'),
    tie('arr'),
  ),
  obj: fc
    .array(fc.tuple(hostileKey, tie('value')), { maxLength: 6 })
    .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  arr: fc.array(tie('value'), { maxLength: 4 }).map((values) => `[${values.join(',')}]`),
}))
const eventLikeText = fc
  .tuple(
    fc.constantFrom('track', 'page', 'identify', 'performance', 'api_request', 'bogus'),
    jsonText,
    jsonText,
  )
  .map(([type, a, b]) => `{"type":"${type}","name":"n","userId":"u","properties":${a},"context":{"x":${b}}}`)

describe('EventValidator (property-based)', () => {
  it('should never throw on arbitrary values, and never accept a non-object', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withDate: true,
          withMap: true,
          withNullPrototype: true,
          withSparseArray: true,
          withTypedArray: true,
        }),
        (value) => {
          const result = validator.validate(value)
          if (typeof value !== 'object' || value === null || Array.isArray(value))
            expect(result.ok).toBe(false)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('should never throw on hostile JSON and never accept an event that breaks a hostile-input rule', () => {
    fc.assert(
      fc.property(fc.oneof(jsonText, eventLikeText), (text) => {
        const parsed = JSON.parse(text)
        const fromText = validator.validateJson(text)
        const fromValue = validator.validate(parsed)
        expect(fromText.ok).toBe(fromValue.ok)
        if (fromValue.ok) expect(breaksHostileRule(parsed)).toBe(false)
        if (typeof parsed === 'object' && parsed !== null && breaksHostileRule(parsed))
          expect(fromValue.ok).toBe(false)
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      }),
      { numRuns: 1500 },
    )
  })

  it('should accept nesting up to the depth limit and refuse one level more', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), (levels) => {
        // the event is level 1 and properties level 2, so `levels` arrays inside reach level 2 + levels
        const text = `{"type":"track","name":"n","userId":"u","properties":{"v":${'['.repeat(levels)}${']'.repeat(levels)}}}`
        const result = validator.validateJson(text)
        expect(result.ok).toBe(2 + levels <= DEFAULT_LIMITS.maxDepth)
        if (!result.ok) expect(result.errors[0].code).toBe('too_deep')
      }),
    )
  })
})

// ── valid events, then one rule broken ──────────────────────────────────────────────────────────────
const plainText = fc.string({ minLength: 1, maxLength: 40 }).filter(isPlainText)
const id = fc.oneof(plainText, fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }))
const timestamp = fc
  .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString())
const safeKey = fc.string({ maxLength: 10 }).filter((k) => !FORBIDDEN.has(k))
const props = fc.dictionary(safeKey, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 })
const identity = fc.oneof(
  fc.record({ userId: id }),
  fc.record({ anonymousId: id }),
  fc.record({ userId: id, anonymousId: id }),
)

const validEvent = fc
  .tuple(
    identity,
    fc.record({ messageId: id, timestamp, sentAt: timestamp }, { requiredKeys: [] }),
    fc.oneof(
      fc.record({ type: fc.constant('track'), name: plainText, properties: props }),
      fc.record({ type: fc.constant('page'), properties: props }),
      fc.record({ type: fc.constant('screen'), name: plainText }),
      fc.record({ type: fc.constant('identify'), traits: props }),
      fc.record({ type: fc.constant('group'), groupId: id, traits: props }),
      fc.record({
        type: fc.constant('performance'),
        name: fc.constantFrom('LCP', 'INP', 'CLS', 'custom'),
        properties: fc.record({
          value: fc.double({ noNaN: true, noDefaultInfinity: true }),
          unit: fc.constantFrom('ms', 's', 'score', 'bytes', 'count'),
        }),
      }),
      fc.record({
        type: fc.constant('interaction'),
        name: fc.constantFrom('click', 'submit'),
        properties: fc.record({ target: fc.record({ tag: fc.constantFrom('a', 'button') }) }),
      }),
      fc.record({
        type: fc.constant('api_request'),
        properties: fc.record({
          method: fc.constantFrom('GET', 'POST'),
          route: plainText,
          statusCode: fc.integer({ min: 100, max: 599 }),
          durationMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
        }),
      }),
    ),
  )
  .map(([ids, common, body]) => ({ ...ids, ...common, ...body }) as Record<string, unknown>)
  // fc.jsonValue may nest "__proto__" keys or odd strings: those events are not valid, so leave them out
  .filter((event) => !breaksHostileRule(event))

type Breaker = [
  name: string,
  applies: (e: Record<string, any>) => boolean,
  apply: (e: Record<string, any>) => unknown,
  path: string,
  code: string,
]
const BREAKERS: Breaker[] = [
  ['unknown type', () => true, (e) => ({ ...e, type: 'purchase' }), '/type', 'unknown_event'],
  ['no type', () => true, ({ type: _, ...e }) => e, '/type', 'required'],
  [
    'no identity',
    (e) => e.type !== 'alias',
    ({ userId: _u, anonymousId: _a, ...e }) => e,
    '',
    'missing_identity',
  ],
  [
    'no name',
    (e) => ['track', 'performance', 'interaction'].includes(e.type),
    ({ name: _, ...e }) => e,
    '/name',
    'required',
  ],
  [
    'long name',
    (e) => e.type !== 'identify' && e.type !== 'group',
    (e) => ({ ...e, name: 'n'.repeat(201) }),
    '/name',
    'max_length',
  ],
  [
    'control char in name',
    (e) => e.type === 'track',
    (e) => ({ ...e, name: `${e.name}\u0001` }),
    '/name',
    'invalid_string',
  ],
  ['traits on track', (e) => e.type === 'track', (e) => ({ ...e, traits: {} }), '/traits', 'not_allowed'],
  ['unknown field', () => true, (e) => ({ ...e, colour: 'red' }), '/colour', 'unknown_field'],
  [
    'timestamp without zone',
    () => true,
    (e) => ({ ...e, timestamp: '2026-11-27T10:00:00' }),
    '/timestamp',
    'format',
  ],
  ['unsafe userId', () => true, (e) => ({ ...e, userId: 2 ** 53 + 2 }), '/userId', 'invalid_number'],
  [
    'NaN deep in context',
    () => true,
    (e) => ({ ...e, context: { x: [{ y: Number.NaN }] } }),
    '/context/x/0/y',
    'invalid_number',
  ],
  [
    '__proto__ key',
    () => true,
    (e) => JSON.parse(JSON.stringify(e).replace(/^\{/, '{"__proto__":{"polluted":1},')),
    '/__proto__',
    'forbidden_key',
  ],
  ['lone surrogate', () => true, (e) => ({ ...e, context: { s: '\udc00' } }), '/context/s', 'invalid_string'],
  [
    'performance value not a number',
    (e) => e.type === 'performance',
    (e) => ({ ...e, properties: { ...e.properties, value: 'fast' } }),
    '/properties/value',
    'type',
  ],
  [
    'status code out of range',
    (e) => e.type === 'api_request',
    (e) => ({ ...e, properties: { ...e.properties, statusCode: 600 } }),
    '/properties/statusCode',
    'out_of_range',
  ],
]

describe('EventValidator (valid events, one rule broken)', () => {
  it('should accept every generated valid event', () => {
    fc.assert(
      fc.property(validEvent, (event) => {
        const result = validator.validate(event)
        expect(result.ok ? [] : result.errors).toEqual([])
      }),
      { numRuns: 500 },
    )
  })

  it('should reject an event with one rule broken, with that rule’s code at its path', () => {
    fc.assert(
      fc.property(validEvent, fc.constantFrom(...BREAKERS), (event, [, applies, apply, path, code]) => {
        fc.pre(applies(event))
        const result = validator.validate(apply(event))
        expect(result.ok).toBe(false)
        if (!result.ok) expect(result.errors).toContainEqual(expect.objectContaining({ path, code }))
      }),
      { numRuns: Number(process.env.PROP_RUNS ?? 1000) },
    )
  })
})

describe('isIsoDateTime', () => {
  it('should accept every ISO string Date produces, and only strings Date.parse reads as the same instant', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('0000-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        (d) => {
          expect(isIsoDateTime(d.toISOString())).toBe(true)
        },
      ),
    )
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        fc.stringMatching(/^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(:\d\d(\.\d{1,9})?)?([Zz]|[+-]\d\d:\d\d)$/),
        (s, shaped) => {
          for (const candidate of [s, shaped]) {
            if (isIsoDateTime(candidate)) expect(Number.isNaN(Date.parse(candidate))).toBe(false)
          }
        },
      ),
    )
  })
})
