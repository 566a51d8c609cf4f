import { describe, expect, it } from 'vitest'
import { EVENT_TYPES } from '../schema/event-types.js'
import { EventValidator, type ValidationResult } from './event-validator.js'
import { validEvents } from './test-events.js'

const validator = new EventValidator()

function errorsOf(result: ValidationResult) {
  expect(result.ok).toBe(false)
  return result.ok ? [] : result.errors
}

function expectIssue(input: unknown, path: string, code: string) {
  const errors = errorsOf(validator.validate(input))
  expect(errors).toContainEqual(expect.objectContaining({ path, code }))
  return errors
}

/** A valid event of `type` with `patch` applied (`undefined` deletes a field). */
function variantOf(type: keyof ReturnType<typeof validEvents>, patch: Record<string, unknown>) {
  const event = { ...validEvents()[type], ...patch }
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete event[k]
  return event
}

describe('EventValidator.validate: valid corpus', () => {
  for (const type of EVENT_TYPES) {
    it(`should accept a valid ${type} event`, () => {
      const input = validEvents()[type]
      const result = validator.validate(input)
      expect(result).toMatchObject({ ok: true, warnings: [], schema: null })
      if (result.ok) expect(result.event.type).toBe(type)
    })
  }

  it('should derive the name of an api_request as "METHOD route" without changing the input', () => {
    const input = validEvents().api_request
    const result = validator.validate(input)
    expect(result.ok && result.event.type === 'api_request' && result.event.name).toBe('GET /users/:id')
    expect(input).not.toHaveProperty('name')
  })

  it('should keep an explicit api_request name', () => {
    const result = validator.validate(variantOf('api_request', { name: 'load user' }))
    expect(result.ok && 'name' in result.event && result.event.name).toBe('load user')
  })

  it('should accept numeric ids within the safe range and unknown context keys', () => {
    const result = validator.validate(
      variantOf('track', { userId: Number.MAX_SAFE_INTEGER, context: { custom: { a: 1 } } }),
    )
    expect(result.ok).toBe(true)
  })

  it('should accept timestamps with an offset, without seconds and with nanoseconds', () => {
    for (const timestamp of [
      '2026-11-27T11:00+01:00',
      '2026-11-27T10:00:00.123456789Z',
      '2024-02-29 23:59:59-05:30',
    ]) {
      expect(validator.validate(variantOf('track', { timestamp })).ok).toBe(true)
    }
  })
})

describe('EventValidator.validate: invalid corpus', () => {
  const cases: [string, Record<string, unknown>, string, string][] = [
    // type and shape
    ['missing type', variantOf('track', { type: undefined }), '/type', 'required'],
    ['numeric type', variantOf('track', { type: 7 }), '/type', 'type'],
    ['unknown type', variantOf('track', { type: 'purchase' }), '/type', 'unknown_event'],
    ['unknown top-level field', variantOf('track', { event: 'Signed Up' }), '/event', 'unknown_field'],
    ['traits on track', variantOf('track', { traits: { a: 1 } }), '/traits', 'not_allowed'],
    ['properties on identify', variantOf('identify', { properties: {} }), '/properties', 'not_allowed'],
    ['groupId on page', variantOf('page', { groupId: 'g' }), '/groupId', 'not_allowed'],
    ['previousId on group', variantOf('group', { previousId: 'p' }), '/previousId', 'not_allowed'],
    ['properties not an object', variantOf('track', { properties: [1, 2] }), '/properties', 'type'],
    [
      'context.page.url not a string',
      variantOf('page', { context: { page: { url: 5 } } }),
      '/context/page/url',
      'type',
    ],
    [
      'extra key in context.schema',
      variantOf('track', { context: { schema: { version: '1-0-0', x: 1 } } }),
      '/context/schema/x',
      'unknown_field',
    ],
    [
      'negative screen width',
      variantOf('screen', { context: { screen: { width: -1 } } }),
      '/context/screen/width',
      'out_of_range',
    ],
    // names
    ['track without name', variantOf('track', { name: undefined }), '/name', 'required'],
    ['track without name', variantOf('track', { name: undefined }), '/name', 'required'],
    ['performance without name', variantOf('performance', { name: undefined }), '/name', 'required'],
    ['interaction without name', variantOf('interaction', { name: undefined }), '/name', 'required'],
    ['empty name', variantOf('track', { name: '' }), '/name', 'min_length'],
    ['name over 200 characters', variantOf('track', { name: 'x'.repeat(201) }), '/name', 'max_length'],
    ['name with a newline', variantOf('track', { name: 'a\nb' }), '/name', 'invalid_string'],
    ['page name with a control character', variantOf('page', { name: 'a\u0007' }), '/name', 'invalid_string'],
    ['name not a string', variantOf('screen', { name: 42 }), '/name', 'type'],
    // identifiers
    ['no userId nor anonymousId', variantOf('track', { userId: undefined }), '', 'missing_identity'],
    [
      'alias without userId',
      variantOf('alias', { userId: undefined, anonymousId: 'a' }),
      '/userId',
      'missing_identity',
    ],
    ['alias without previousId', variantOf('alias', { previousId: undefined }), '/previousId', 'required'],
    ['group without groupId', variantOf('group', { groupId: undefined }), '/groupId', 'required'],
    ['userId beyond the safe range', variantOf('track', { userId: 2 ** 60 }), '/userId', 'invalid_number'],
    [
      'groupId beyond the safe range',
      variantOf('group', { groupId: -(2 ** 55) }),
      '/groupId',
      'invalid_number',
    ],
    ['fractional userId', variantOf('track', { userId: 1.5 }), '/userId', 'type'],
    ['boolean anonymousId', variantOf('page', { anonymousId: true }), '/anonymousId', 'type'],
    ['empty userId', variantOf('track', { userId: '' }), '/userId', 'min_length'],
    ['userId over 255 characters', variantOf('track', { userId: 'u'.repeat(256) }), '/userId', 'max_length'],
    ['messageId with a tab', variantOf('track', { messageId: 'a\tb' }), '/messageId', 'invalid_string'],
    // time
    [
      'timestamp without zone',
      variantOf('track', { timestamp: '2026-11-27T10:00:00' }),
      '/timestamp',
      'format',
    ],
    [
      'timestamp on Feb 30',
      variantOf('track', { timestamp: '2026-02-30T10:00:00Z' }),
      '/timestamp',
      'format',
    ],
    ['sentAt as epoch number', variantOf('track', { sentAt: 1764237600000 }), '/sentAt', 'type'],
    [
      'originalTimestamp garbage',
      variantOf('track', { originalTimestamp: 'yesterday' }),
      '/originalTimestamp',
      'format',
    ],
    // performance
    [
      'performance value missing',
      variantOf('performance', { properties: { unit: 'ms' } }),
      '/properties/value',
      'required',
    ],
    [
      'performance value a string',
      variantOf('performance', { properties: { value: '12' } }),
      '/properties/value',
      'type',
    ],
    [
      'performance unit unknown',
      variantOf('performance', { properties: { value: 1, unit: 'minutes' } }),
      '/properties/unit',
      'enum',
    ],
    [
      'performance rating unknown',
      variantOf('performance', { properties: { value: 1, rating: 'ok' } }),
      '/properties/rating',
      'enum',
    ],
    [
      'performance without properties',
      variantOf('performance', { properties: undefined }),
      '/properties',
      'required',
    ],
    // interaction
    [
      'interaction without target',
      variantOf('interaction', { properties: {} }),
      '/properties/target',
      'required',
    ],
    [
      'interaction text over 4096',
      variantOf('interaction', { properties: { target: { text: 't'.repeat(4097) } } }),
      '/properties/target/text',
      'max_length',
    ],
    [
      'interaction target not an object',
      variantOf('interaction', { properties: { target: 'button' } }),
      '/properties/target',
      'type',
    ],
    // api_request
    [
      'api_request status 700',
      variantOf('api_request', { properties: { method: 'GET', route: '/', statusCode: 700, durationMs: 1 } }),
      '/properties/statusCode',
      'out_of_range',
    ],
    [
      'api_request status 99',
      variantOf('api_request', { properties: { method: 'GET', route: '/', statusCode: 99, durationMs: 1 } }),
      '/properties/statusCode',
      'out_of_range',
    ],
    [
      'api_request fractional status',
      variantOf('api_request', {
        properties: { method: 'GET', route: '/', statusCode: 200.5, durationMs: 1 },
      }),
      '/properties/statusCode',
      'type',
    ],
    [
      'api_request negative duration',
      variantOf('api_request', {
        properties: { method: 'GET', route: '/', statusCode: 200, durationMs: -1 },
      }),
      '/properties/durationMs',
      'out_of_range',
    ],
    [
      'api_request lower-case method',
      variantOf('api_request', { properties: { method: 'get', route: '/', statusCode: 200, durationMs: 1 } }),
      '/properties/method',
      'enum',
    ],
    [
      'api_request without route',
      variantOf('api_request', { properties: { method: 'GET', statusCode: 200, durationMs: 1 } }),
      '/properties/route',
      'required',
    ],
    [
      'api_request empty route',
      variantOf('api_request', { properties: { method: 'GET', route: '', statusCode: 200, durationMs: 1 } }),
      '/properties/route',
      'min_length',
    ],
    [
      'api_request negative bytes',
      variantOf('api_request', {
        properties: { method: 'GET', route: '/', statusCode: 200, durationMs: 1, requestBytes: -5 },
      }),
      '/properties/requestBytes',
      'out_of_range',
    ],
  ]
  for (const [what, input, path, code] of cases) {
    it(`should report ${code} at "${path}" for ${what}`, () => {
      expectIssue(input, path, code)
    })
  }

  it('should report every violation of an event, each once', () => {
    const errors = errorsOf(
      validator.validate({
        type: 'api_request',
        userId: 2 ** 60,
        properties: { method: 'FETCH', route: '/', statusCode: 1000, durationMs: -2 },
      }),
    )
    expect(errors.map((e) => `${e.code} ${e.path}`).sort()).toEqual([
      'enum /properties/method',
      'invalid_number /userId',
      'out_of_range /properties/durationMs',
      'out_of_range /properties/statusCode',
    ])
  })

  it('should cap the issues at maxIssuesPerEvent, the last being too_many_errors', () => {
    const input: Record<string, unknown> = { ...validEvents().track }
    for (let i = 0; i < 30; i++) input[`extra${i}`] = i
    const errors = errorsOf(validator.validate(input))
    expect(errors).toHaveLength(20)
    expect(errors[19]).toMatchObject({ path: '', code: 'too_many_errors' })
    expect(errors.slice(0, 19).every((e) => e.code === 'unknown_field')).toBe(true)
  })

  it('should honour a configured issue cap', () => {
    const small = new EventValidator({ limits: { maxIssuesPerEvent: 3 } })
    const result = small.validate({ type: 'track', a: 1, b: 2, c: 3, d: 4 })
    expect(result.ok === false && result.errors.map((e) => e.code)).toEqual([
      'missing_identity',
      'required',
      'too_many_errors',
    ])
  })

  for (const [what, input] of [
    ['null', null],
    ['an array', [validEvents().track]],
    ['a string', 'track'],
    ['a number', 1],
    ['undefined', undefined],
  ] as const) {
    it(`should report type at "" when the event is ${what}`, () => {
      expectIssue(input, '', 'type')
    })
  }
})

describe('EventValidator.validate: hostile input', () => {
  it('should refuse __proto__, constructor and prototype keys without polluting any prototype', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const input = JSON.parse(
        `{"type":"track","name":"x","userId":"u","properties":{"${key}":{"polluted":true}}}`,
      )
      expectIssue(input, `/properties/${key}`, 'forbidden_key')
      expectIssue(
        JSON.parse(`{"type":"track","name":"x","userId":"u","${key}":{"polluted":true}}`),
        `/${key}`,
        'forbidden_key',
      )
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('should report too_deep at the first container beyond the depth limit', () => {
    let nested: Record<string, unknown> = {}
    const root = variantOf('track', { properties: nested })
    for (let i = 0; i < 20; i++) {
      const child = {}
      nested.a = child
      nested = child
    }
    // event = depth 1, properties = 2, …, so the 16th level is /properties/a×14 and the 17th is refused
    expectIssue(root, `/properties${'/a'.repeat(15)}`, 'too_deep')
  })

  it('should not throw on a 100,000-deep array or a cyclic object', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`)
    expectIssue(
      variantOf('track', { properties: { deep } }),
      `/properties/deep${'/0'.repeat(14)}`,
      'too_deep',
    )
    const cyclic: Record<string, unknown> = { type: 'track', name: 'x', userId: 'u' }
    cyclic.properties = { self: cyclic }
    expect(validator.validate(cyclic).ok).toBe(false)
  })

  it('should report too_many_keys for an object with more keys than the limit', () => {
    const properties = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i]))
    expectIssue(variantOf('track', { properties }), '/properties', 'too_many_keys')
    const fine = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]))
    expect(validator.validate(variantOf('track', { properties: fine })).ok).toBe(true)
  })

  it('should report too_large for an event over 32 KB, measured or estimated', () => {
    const big = variantOf('track', { properties: { blob: 'x'.repeat(33_000) } })
    expectIssue(big, '', 'too_large')
    // multi-byte characters: 11,000 × 3 bytes = 33 KB though only 11,000 UTF-16 units
    expectIssue(variantOf('track', { properties: { blob: '€'.repeat(11_000) } }), '', 'too_large')
    expect(validator.validate(variantOf('track', { properties: { blob: '€'.repeat(10_000) } })).ok).toBe(true)
  })

  it('should report max_length for a string longer than maxStringLength', () => {
    const v = new EventValidator({ limits: { maxEventBytes: 200_000, maxStringLength: 100 } })
    const result = v.validate(variantOf('track', { properties: { note: 'n'.repeat(101) } }))
    expect(result.ok === false && result.errors).toContainEqual(
      expect.objectContaining({ path: '/properties/note', code: 'max_length' }),
    )
  })

  it('should report invalid_number for Infinity from a 1e400 literal and for NaN', () => {
    expectIssue(
      JSON.parse('{"type":"track","name":"x","userId":"u","properties":{"n":1e400}}'),
      '/properties/n',
      'invalid_number',
    )
    expectIssue(
      variantOf('track', { properties: { list: [1, Number.NaN] } }),
      '/properties/list/1',
      'invalid_number',
    )
    expectIssue(
      variantOf('performance', { properties: { value: Number.NEGATIVE_INFINITY } }),
      '/properties/value',
      'invalid_number',
    )
  })

  it('should report invalid_string for lone surrogates in values and keys, and for NUL', () => {
    expectIssue(
      JSON.parse('{"type":"track","name":"x","userId":"u","properties":{"s":"\\ud800"}}'),
      '/properties/s',
      'invalid_string',
    )
    expectIssue(
      JSON.parse('{"type":"track","name":"x","userId":"u","properties":{"\\udc00":1}}'),
      '/properties/\udc00',
      'invalid_string',
    )
    expectIssue(variantOf('track', { properties: { s: 'a\u0000b' } }), '/properties/s', 'invalid_string')
  })

  it('should escape "/" and "~" in issue paths (JSON Pointer)', () => {
    expectIssue(
      variantOf('track', { properties: { 'a/b~c': Number.NaN } }),
      '/properties/a~1b~0c',
      'invalid_number',
    )
  })

  it('should report type for values that are not JSON (functions, class instances, bigint)', () => {
    expectIssue(variantOf('track', { properties: { f: () => 1 } }), '/properties/f', 'type')
    expectIssue(variantOf('track', { properties: { d: new Date() } }), '/properties/d', 'type')
    expectIssue(variantOf('track', { properties: { b: 10n } }), '/properties/b', 'type')
  })
})

describe('EventValidator.validateJson', () => {
  it('should accept valid JSON text and report invalid_json otherwise', () => {
    expect(validator.validateJson(JSON.stringify(validEvents().track)).ok).toBe(true)
    expect(errorsOf(validator.validateJson('{"type":'))[0]).toMatchObject({ path: '', code: 'invalid_json' })
  })

  it('should refuse text over the byte limit with too_large before parsing it', () => {
    const text = `{"type":"track","name":"x","userId":"u","properties":{"s":"${'x'.repeat(40_000)}"}`
    expect(errorsOf(validator.validateJson(text))).toEqual([expect.objectContaining({ code: 'too_large' })])
  })

  it('should still find control characters and lone surrogates written as escapes', () => {
    expect(
      errorsOf(validator.validateJson('{"type":"track","name":"a\\u0001","userId":"u"}'))[0],
    ).toMatchObject({
      path: '/name',
      code: 'invalid_string',
    })
    expect(
      errorsOf(validator.validateJson('{"type":"track","name":"a","userId":"\\udfff"}'))[0],
    ).toMatchObject({
      path: '/userId',
      code: 'invalid_string',
    })
  })
})

describe('EventValidator.validateJson (source facts)', () => {
  it('should report what validate reports on the parsed value, whichever escapes the text holds', () => {
    for (const text of [
      '{"type":"track","name":"a\\nb","userId":"u"}', // a control character from a short escape
      '{"type":"track","name":"say \\"hi\\"","userId":"u","properties":{"s":"a\\u0000"}}',
      '{"type":"track","name":"ok","userId":"u","properties":{"sel":"a[href=\\"/x\\"]","t":"\\ud800"}}',
      '{"type":"track","name":"ok","userId":"u\\u0000","properties":{"sel":"\\"q\\""}}',
      '{"type":"track","name":"ok \\"q\\"","userId":"u","properties":{"sel":"tab\\there"}}',
    ]) {
      expect(validator.validateJson(text), text).toEqual(validator.validate(JSON.parse(text)))
    }
  })

  it('should report the same with body-level facts (no \\u escape, a size bound) as without them', () => {
    for (const text of [
      '{"type":"track","name":"a\\nb","userId":"u"}',
      '{"type":"track","name":"ok","userId":"u","properties":{"sel":"a[href=\\"/x\\"]","n":[1,2,{"k":"v"}]}}',
      '{"type":"track","name":"ok","userId":"u","properties":{"constructor":"x"}}',
    ]) {
      const value = JSON.parse(text)
      const facts = { noUnicodeEscapes: true, sourceTextBytes: Buffer.byteLength(text) }
      expect(validator.validate(value, facts), text).toEqual(validator.validate(value))
    }
  })

  it('should agree with validate near the size limit, where the walk bounds the size from below', () => {
    const small = new EventValidator({ limits: { maxEventBytes: 300 } })
    for (const n of [10, 30, 45, 60, 80]) {
      const text = `{"type":"track","name":"n","userId":"u","properties":{"a":[${Array(n).fill('[]').join(',')}]}}`
      const byteSize = Buffer.byteLength(text)
      expect(small.validateJson(text), `${n}`).toEqual(small.validate(JSON.parse(text), { byteSize }))
    }
  })
})

describe('EventValidator.validateBatch', () => {
  it('should return one result per input, in order', () => {
    const results = validator.validateBatch([validEvents().page, { type: 'nope' }, validEvents().alias])
    expect(results.map((r) => r.ok)).toEqual([true, false, true])
  })
})
