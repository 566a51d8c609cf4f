import { describe, expect, it } from 'vitest'
import { AppError } from '../errors/app-error.js'
import {
  assertBoundedChecks,
  assertNoRefCycle,
  checkBounds,
  findRefCycle,
  findRefOutsideSchemas,
  maxChecksPerValue,
} from './ref-cycles.js'

const TREE = {
  type: 'object',
  properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#' } } },
}

describe('findRefCycle', () => {
  it('should find the self-reference that overflowed the stack on every event', () => {
    expect(findRefCycle({ type: 'object', allOf: [{ $ref: '#' }] })).toEqual(['#', '#/allOf/0', '#'])
    expect(findRefCycle({ $ref: '#' })).toEqual(['#', '#'])
  })

  it('should read "#/" as the root, as Ajv does (the check missed it and every event overflowed)', () => {
    expect(findRefCycle({ allOf: [{ $ref: '#/' }] })).not.toBeNull()
  })

  it('should find a cycle through each keyword that applies a schema to the same value', () => {
    const back = { $ref: '#' }
    const cases: [Record<string, unknown>, string][] = [
      [{ anyOf: [{ type: 'string' }, back] }, '#/anyOf/1'],
      [{ oneOf: [back] }, '#/oneOf/0'],
      [{ not: back }, '#/not'],
      [{ if: back }, '#/if'],
      // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword, not a thenable
      [{ if: { type: 'string' }, then: back }, '#/then'],
      [{ if: { type: 'string' }, else: back }, '#/else'],
      [{ dependentSchemas: { a: back } }, '#/dependentSchemas/a'],
      [{ dependencies: { a: ['b'], c: back } }, '#/dependencies/c'],
      [{ allOf: [{ anyOf: [{ not: back }] }] }, '#/allOf/0/anyOf/0/not'],
    ]
    for (const [schema, via] of cases) {
      const cycle = findRefCycle(schema)
      expect(cycle, JSON.stringify(schema)).not.toBeNull()
      expect(cycle?.[0]).toBe('#')
      expect(cycle?.at(-2)).toBe(via)
    }
  })

  it('should find cycles between definitions, wherever they are used from', () => {
    const schema = {
      definitions: {
        a: { $ref: '#/definitions/b' },
        b: { allOf: [{ type: 'object' }, { $ref: '#/definitions/a' }] },
      },
      properties: { p: { $ref: '#/definitions/a' } },
    }
    // Only the loop itself, from wherever the search entered it.
    const cycle = findRefCycle(schema) ?? []
    expect(cycle[0]).toBe(cycle.at(-1))
    expect(new Set(cycle)).toEqual(new Set(['#/definitions/a', '#/definitions/b', '#/definitions/b/allOf/1']))
    expect(findRefCycle({ $defs: { x: { anyOf: [{ $ref: '#/$defs/x' }] } } })).not.toBeNull()
  })

  it('should resolve JSON Pointer escapes (~0, ~1, percent-encoding), anchors and embedded $ids', () => {
    expect(findRefCycle({ definitions: { 'a/b': { not: { $ref: '#/definitions/a~1b' } } } })).toEqual([
      '#/definitions/a~1b',
      '#/definitions/a~1b/not',
      '#/definitions/a~1b',
    ])
    expect(
      findRefCycle({ definitions: { 'c~d': { allOf: [{ $ref: '#/definitions/c~0d' }] } } }),
    ).not.toBeNull()
    expect(
      findRefCycle({ definitions: { 'a b%': { allOf: [{ $ref: '#/definitions/a%20b%25' }] } } }),
    ).not.toBeNull()
    // 2020-12 $anchor, draft-07 $id: "#name".
    expect(findRefCycle({ $defs: { n: { $anchor: 'node', anyOf: [{ $ref: '#node' }] } } })).not.toBeNull()
    expect(findRefCycle({ definitions: { n: { $id: '#node', allOf: [{ $ref: '#node' }] } } })).not.toBeNull()
    // Inside an embedded resource, # is that resource, and other resources are reached by URI.
    const embedded = (ref: string) => ({
      $id: 'https://x.test/root.json',
      properties: { p: { $id: 'p.json', type: 'object', allOf: [{ $ref: ref }] } },
    })
    expect(findRefCycle(embedded('#'))).toEqual([
      '#/properties/p',
      '#/properties/p/allOf/0',
      '#/properties/p',
    ])
    expect(findRefCycle(embedded('https://x.test/p.json'))).not.toBeNull()
    expect(findRefCycle(embedded('p.json#'))).not.toBeNull()
    // root.json applies p only through properties: that recursion moves into the data.
    expect(findRefCycle(embedded('root.json'))).toBeNull()
  })

  it('should accept recursion that moves into the data', () => {
    const accepted: Record<string, unknown>[] = [
      TREE,
      {
        definitions: { node: { type: 'object', properties: { next: { $ref: '#/definitions/node' } } } },
        $ref: '#/definitions/node',
      },
      { additionalProperties: { $ref: '#' } },
      { patternProperties: { '^x': { $ref: '#' } } },
      { items: { $ref: '#' } },
      { items: [{ $ref: '#' }], additionalItems: { $ref: '#' } },
      { prefixItems: [{ $ref: '#' }] },
      { contains: { $ref: '#' } },
      { propertyNames: { $ref: '#' } },
      { unevaluatedProperties: { $ref: '#' } },
      { anyOf: [{ type: 'string' }, { type: 'array', items: { $ref: '#' } }] },
      // The same definition twice is not a cycle.
      {
        definitions: { a: { type: 'object' } },
        allOf: [{ $ref: '#/definitions/a' }, { $ref: '#/definitions/a' }],
      },
      // Data is not schema: a "$ref" inside const, default or enum is never followed.
      { const: { allOf: [{ $ref: '#' }] }, default: { $ref: '#' } },
    ]
    for (const schema of accepted) expect(findRefCycle(schema), JSON.stringify(schema)).toBeNull()
  })

  it('should leave references it cannot resolve to Ajv', () => {
    expect(findRefCycle({ $ref: 'https://elsewhere.test/schema.json' })).toBeNull()
    expect(findRefCycle({ allOf: [{ $ref: '#/definitions/missing' }] })).toBeNull()
    expect(findRefCycle({ allOf: [{ $ref: '#/properties' }], properties: {} })).toBeNull()
    expect(findRefCycle({ $dynamicAnchor: 'n', allOf: [{ $dynamicRef: '#n' }] })).toBeNull()
    expect(findRefCycle({ $ref: 'http://[bad' })).toBeNull()
  })

  it('should follow a long chain of $refs without overflowing its own stack', () => {
    const n = 20_000
    const definitions: Record<string, unknown> = {}
    for (let i = 0; i < n; i++) definitions[`d${i}`] = { $ref: `#/definitions/d${(i + 1) % n}` }
    expect(findRefCycle({ definitions })).toHaveLength(n + 1)
    definitions[`d${n - 1}`] = { type: 'string' }
    expect(findRefCycle({ definitions })).toBeNull()
  })
})

describe('assertNoRefCycle', () => {
  it('should throw schema_invalid with the cycle in the message and details', () => {
    try {
      assertNoRefCycle({ type: 'object', allOf: [{ $ref: '#' }] })
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(AppError)
      expect(err).toMatchObject({
        code: 'schema_invalid',
        message: expect.stringContaining('# → #/allOf/0 → #'),
        details: { refCycle: ['#', '#/allOf/0', '#'] },
      })
    }
    expect(() => assertNoRefCycle(TREE)).not.toThrow()
  })
})

describe('findRefOutsideSchemas', () => {
  it('should find a $ref into a default, const, enum or examples value (a cycle hid there)', () => {
    expect(
      findRefOutsideSchemas({
        type: 'object',
        default: { allOf: [{ $ref: '#' }] },
        allOf: [{ $ref: '#/default' }],
      }),
    ).toEqual({
      at: '#/allOf/0',
      ref: '#/default',
    })
    for (const keyword of ['const', 'examples/0', 'enum/0']) {
      const [k] = keyword.split('/')
      const holder = k === 'const' ? { const: { type: 'string' } } : { [k]: [{ type: 'string' }] }
      expect(findRefOutsideSchemas({ ...holder, properties: { a: { $ref: `#/${keyword}` } } })).not.toBeNull()
    }
  })

  it('should accept refs to definitions, properties, anchors and embedded $ids', () => {
    expect(
      findRefOutsideSchemas({
        definitions: {
          d: { type: 'string' },
          e: { $id: 'http://x/e', type: 'number' },
          f: { $id: '#f', type: 'boolean' },
        },
        properties: {
          a: { $ref: '#/definitions/d' },
          b: { $ref: 'http://x/e' },
          c: { $ref: '#f' },
          t: { $ref: '#' },
        },
      }),
    ).toBeNull()
  })

  it('should make registering such a schema schema_invalid', () => {
    expect(() =>
      assertNoRefCycle({
        type: 'object',
        default: { allOf: [{ $ref: '#' }] },
        allOf: [{ $ref: '#/default' }],
      }),
    ).toThrow(
      expect.objectContaining({ code: 'schema_invalid', message: expect.stringContaining('#/default') }),
    )
  })
})

describe('maxChecksPerValue', () => {
  /** Definitions d0…d{n-1}, each applying the next twice to the same value (the 2.5 KB schema that took 34 s). */
  const fanOut = (n: number) => {
    const definitions: Record<string, unknown> = {}
    for (let i = 0; i < n; i++)
      definitions[`d${i}`] = {
        allOf: [{ $ref: `#/definitions/d${i + 1}` }, { $ref: `#/definitions/d${i + 1}` }],
      }
    definitions[`d${n}`] = { type: 'string' }
    return { definitions, properties: { a: { $ref: '#/definitions/d0' } } }
  }

  it('should count what a value gets through $refs and in-place keywords, as if inlined', () => {
    expect(maxChecksPerValue({ type: 'object' })).toBe(1)
    // The property's value: its $ref, d0, and per level each allOf entry (a $ref) and the definition it names.
    expect(maxChecksPerValue(fanOut(3))).toBe(30)
    expect(maxChecksPerValue(fanOut(32))).toBe(Number.POSITIVE_INFINITY)
  })

  it('should find checks that multiply from one level of the data to the next', () => {
    // Each level applies the next twice to the property `a` below it: 2^32 checks at a depth of 32.
    const definitions: Record<string, unknown> = {}
    for (let i = 0; i < 32; i++) {
      const next = { $ref: `#/definitions/d${i + 1}` }
      definitions[`d${i}`] = { properties: { a: { allOf: [next, next] } } }
    }
    definitions.d32 = { type: 'string' }
    expect(maxChecksPerValue({ definitions, $ref: '#/definitions/d0' })).toBe(Number.POSITIVE_INFINITY)
    // Recursion that applies the schema twice per level grows the same way.
    const twice = { properties: { a: { allOf: [{ $ref: '#' }, { $ref: '#' }] } } }
    expect(maxChecksPerValue(twice)).toBe(Number.POSITIVE_INFINITY)
  })

  it('should keep recursive trees, wide enums of constants and ordinary plans well under the bound', () => {
    expect(maxChecksPerValue(TREE)).toBeLessThan(10)
    const binary = { properties: { left: { $ref: '#' }, right: { $ref: '#' }, value: { type: 'number' } } }
    expect(maxChecksPerValue(binary)).toBeLessThan(10)
    const described = {
      oneOf: Array.from({ length: 300 }, (_, i) => ({ const: `v${i}`, description: `${i}` })),
    }
    expect(maxChecksPerValue(described)).toBe(301)
    const plan = {
      $defs: {
        money: { type: 'object', properties: { amount: { type: 'number' }, currency: { type: 'string' } } },
        item: { allOf: [{ $ref: '#/$defs/money' }, { properties: { sku: { type: 'string' } } }] },
      },
      type: 'object',
      properties: {
        total: { $ref: '#/$defs/money' },
        items: { type: 'array', items: { $ref: '#/$defs/item' } },
      },
    }
    expect(maxChecksPerValue(plan)).toBeLessThan(10)
  })

  it('should bound the checks of values that repeat (array items, unlisted keys) much lower', () => {
    // Accepted at 990 checks per value, one event of 15,000 items took 1.6 s; a failing anyOf of 100
    // branches over 15,000 items collected 1.5M errors (1.1 GB).
    const itemsOf = (itemSchema: unknown) => ({
      type: 'object',
      properties: { a: { type: 'array', items: itemSchema } },
    })
    const allOf990 = itemsOf({ allOf: Array.from({ length: 990 }, () => ({ type: 'string' })) })
    expect(checkBounds(allOf990).perRepeatedValue).toBe(991)
    expect(() => assertBoundedChecks(allOf990)).toThrow(/each item of an array/)
    expect(() =>
      assertBoundedChecks(itemsOf({ anyOf: Array.from({ length: 100 }, () => ({ type: 'string' })) })),
    ).toThrow(/each item of an array/)
    expect(() =>
      assertBoundedChecks({
        additionalProperties: { oneOf: Array.from({ length: 100 }, (_, i) => ({ const: i })) },
      }),
    ).toThrow(/each item of an array \(or value of a key the schema does not list\)/)
    // Line items, tags of a few types: a handful of checks each.
    const lineItems = itemsOf({
      type: 'object',
      properties: { sku: { type: 'string' }, qty: { type: 'integer' }, price: { $ref: '#/$defs/money' } },
      required: ['sku'],
    })
    const withDefs = { ...lineItems, $defs: { money: { type: 'number', minimum: 0 } } }
    expect(checkBounds(withDefs).perRepeatedValue).toBeLessThan(5)
    expect(() =>
      assertBoundedChecks(itemsOf({ anyOf: [{ type: 'string' }, { type: 'boolean' }] })),
    ).not.toThrow()
    // The same wide oneOf at one listed property is checked once per event: allowed.
    const once = {
      properties: { plan: { oneOf: Array.from({ length: 400 }, (_, i) => ({ const: `p${i}` })) } },
    }
    expect(checkBounds(once)).toEqual({ perValue: 401, perRepeatedValue: 0 })
  })

  it('should not apply object-key keywords to array items (a recursive tree with x- extensions was refused)', () => {
    const tree = {
      type: 'object',
      properties: { label: { type: 'string' }, children: { type: 'array', items: { $ref: '#' } } },
      patternProperties: { '^x-': { $ref: '#' } },
    }
    expect(checkBounds(tree).perValue).toBeLessThan(10)
    expect(() => assertBoundedChecks(tree)).not.toThrow()
  })

  it('should refuse through assertBoundedChecks with schema_invalid, and 1,500 patterns in one allOf too', () => {
    expect(() => assertBoundedChecks(fanOut(32))).toThrow(AppError)
    expect(() => assertBoundedChecks(fanOut(32))).toThrow(/more than 1000 subschemas/)
    const patterns = {
      additionalProperties: { allOf: Array.from({ length: 1500 }, (_, i) => ({ pattern: `a${i}` })) },
    }
    expect(() => assertBoundedChecks(patterns)).toThrow(/schema_invalid|subschemas/)
    expect(() => assertBoundedChecks(TREE)).not.toThrow()
  })
})
