import { describe, expect, it } from 'vitest'
import { UserSchemaCompiler } from '../tracking-plan/compile-user-schema.js'
import { createEventAjv } from './compile.js'
import { formatAjvErrors } from './format-errors.js'
import { IssueList } from './issue-list.js'

function issuesFor(
  schema: Record<string, unknown>,
  data: unknown,
  options: Parameters<typeof formatAjvErrors>[3] = {},
) {
  const validate = createEventAjv().compile(schema)
  expect(validate(data)).toBe(false)
  const issues = new IssueList(20)
  formatAjvErrors(validate.errors ?? [], data, issues, options)
  return issues.items
}

describe('formatAjvErrors', () => {
  it('should map pattern, maxItems, maxProperties, const and exclusive bounds to their codes', () => {
    const schema = {
      type: 'object',
      properties: {
        sku: { type: 'string', pattern: '^sku-\\d+$' },
        tags: { type: 'array', maxItems: 2 },
        meta: { type: 'object', maxProperties: 1 },
        v: { const: 1 },
        ratio: { type: 'number', exclusiveMaximum: 1 },
      },
    }
    const issues = issuesFor(schema, { sku: 'SKU 1', tags: [1, 2, 3], meta: { a: 1, b: 2 }, v: 2, ratio: 1 })
    expect(issues.map((i) => [i.path, i.code])).toEqual([
      ['/sku', 'pattern'],
      ['/tags', 'too_many_items'],
      ['/meta', 'too_many_keys'],
      ['/v', 'enum'],
      ['/ratio', 'out_of_range'],
    ])
    expect(issues[4].expected).toBe('< 1')
  })

  it('should collapse a failed anyOf into one type issue naming every accepted type', () => {
    const schema = {
      type: 'object',
      properties: { id: { anyOf: [{ type: 'string' }, { type: 'integer' }] } },
    }
    expect(issuesFor(schema, { id: [1] })).toEqual([
      {
        path: '/id',
        code: 'type',
        message: 'must be a string or an integer, not an array',
        expected: 'string or integer',
      },
    ])
  })

  it('should report the matching branch of an anyOf when the value has its type', () => {
    const schema = {
      type: 'object',
      properties: { id: { anyOf: [{ type: 'string', maxLength: 3 }, { type: 'integer' }] } },
    }
    expect(issuesFor(schema, { id: 'abcd' })).toMatchObject([
      { path: '/id', code: 'max_length', expected: '<= 3 characters' },
    ])
  })

  it('should escape keys in paths, prefix paths and force one code when asked (tracking plans)', () => {
    const schema = {
      type: 'object',
      required: ['a/b'],
      additionalProperties: false,
      properties: { 'a/b': {} },
    }
    const issues = issuesFor(schema, { 'x~y': 1 }, { pathPrefix: '/properties', code: 'schema_violation' })
    expect(issues.map((i) => [i.path, i.code])).toEqual([
      ['/properties/a~1b', 'schema_violation'],
      ['/properties/x~0y', 'schema_violation'],
    ])
  })
})

describe('formatAjvErrors: findings stay small and at the right item (trial, 2026-11-27)', () => {
  it('should list the first 20 values of a large enum and say how many more', () => {
    const values = Array.from({ length: 4999 }, (_, i) => `value-${i}`)
    const [issue] = issuesFor({ type: 'object', properties: { v: { enum: values } } }, { v: 'nope' })
    expect(issue.code).toBe('enum')
    expect(issue.expected).toContain('"value-19", … (4979 more)')
    expect(issue.expected!.length).toBeLessThanOrEqual(501)
  })

  it('should not attribute the anyOf findings of item 1 to item 10', () => {
    const schema = {
      type: 'object',
      properties: {
        arr: { type: 'array', items: { anyOf: [{ type: 'string', maxLength: 2 }, { type: 'integer' }] } },
      },
    }
    const issues = issuesFor(schema, { arr: ['ok', 'toolong', 2, 3, 4, 5, 6, 7, 8, 9, true] })
    const at10 = issues.filter((i) => i.path === '/arr/10')
    expect(at10).toHaveLength(1)
    const at1 = issues.filter((i) => i.path === '/arr/1')
    expect(at1).toHaveLength(1)
  })
})

describe('formatAjvErrors: findings say what broke (trial, 2026-11-27)', () => {
  it('should report an anyOf of required fields as one finding', () => {
    const schema = {
      type: 'object',
      properties: { phone: { type: 'string' }, address: { type: 'string' } },
      anyOf: [{ required: ['phone'] }, { required: ['address'] }],
    }
    // As a tracking-plan schema (its compiler allows `required` of properties defined elsewhere).
    const validate = new UserSchemaCompiler().compile(schema)
    expect(validate({})).toBe(false)
    const issues = new IssueList(20)
    formatAjvErrors(validate.errors ?? [], {}, issues)
    expect(issues.items).toEqual([
      { path: '', code: 'required', message: 'one of "phone", "address" is required' },
    ])
  })

  it('should name the key a propertyNames rule refused', () => {
    const issues = issuesFor({ type: 'object', propertyNames: { pattern: '^[a-z]+$' } }, { ok: 1, Bad: 2 })
    expect(issues).toEqual([
      expect.objectContaining({
        path: '/Bad',
        code: 'pattern',
        message: expect.stringContaining('the key "Bad"'),
      }),
    ])
  })

  it('should put a dependencies finding at the missing key, naming what needs it', () => {
    const issues = issuesFor({ type: 'object', dependencies: { card: ['cvv'] } }, { card: '4111' })
    expect(issues).toEqual([
      { path: '/cvv', code: 'required', message: '"cvv" is required when "card" is present' },
    ])
  })
})
