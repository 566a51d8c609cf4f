import { AppError } from '../errors/app-error.js'
import { escapePointer } from '../validate/issue-list.js'
import { linearRegExpEngine } from './linear-regex.js'

/**
 * Finds `$ref` cycles that validation could never leave.
 *
 * A schema may refer to itself: `{"properties": {"children": {"items": {"$ref": "#"}}}}` is a tree, and
 * each level of recursion moves one level down into the data, so it ends where the data ends. But a cycle
 * that comes back to the same schema location while still looking at the same value, such as
 * `{"allOf": [{"$ref": "#"}]}`, recurses until the stack overflows, on every event. Ajv compiles both.
 *
 * The check builds a graph over the document's subschemas with an edge for each way of applying another
 * schema to the same value (the in-place applicators `allOf`, `anyOf`, `oneOf`, `not`, `if`, `then`,
 * `else`, `dependentSchemas`, `dependencies`, and `$ref`), and looks for a cycle. Keywords that apply a
 * schema to part of the value (`properties`, `items`, `prefixItems`, `additionalProperties`,
 * `patternProperties`, `contains`, `propertyNames`, `unevaluated*`, …) add no edge: recursion through them
 * is bounded by the data. `$ref`s are resolved within the document: `#`, JSON Pointers (`#/$defs/a`,
 * with `~0`/`~1` and percent escapes), plain-name anchors (`$anchor`, draft-07 `$id: "#a"`), and
 * embedded resources with their own `$id`, relative to the base URI in force. A `$ref` it cannot resolve
 * there (another document, `$dynamicRef`, `$recursiveRef`) is left to Ajv: it adds no edge.
 */

/** Subschema keywords that apply to the same value as the schema holding them. */
const IN_PLACE_SINGLE = ['not', 'if', 'then', 'else']
const IN_PLACE_ARRAY = ['allOf', 'anyOf', 'oneOf']
const IN_PLACE_MAP = ['dependentSchemas', 'dependencies']
/** Subschema keywords that apply to part of the value (or to nothing): walked, but no edge. */
const CHILD_SINGLE = [
  'items',
  'additionalItems',
  'additionalProperties',
  'contains',
  'propertyNames',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
]
const CHILD_ARRAY = ['items', 'prefixItems']
const CHILD_MAP = ['properties', 'patternProperties', 'definitions', '$defs']
const ALL_SINGLE = [...IN_PLACE_SINGLE, ...CHILD_SINGLE]
const ALL_ARRAY = [...IN_PLACE_ARRAY, ...CHILD_ARRAY]
const ALL_MAP = [...IN_PLACE_MAP, ...CHILD_MAP]

/** What a subschema applies one level down in the data (SchemaIndex.children). */
interface ChildSchemas {
  /** Per listed property: its schema, and the `patternProperties` whose regex matches its name. */
  named: Map<string, string[]>
  /** Applied to a key this schema does not list: `additionalProperties`, every `patternProperties`. */
  otherKeys: string[]
  /** Applied to every key: `propertyNames`. */
  everyKey: string[]
  items: string[]
}

/** A base URI for a document with no `$id` of its own, so that relative references resolve. */
const DEFAULT_BASE = 'tally:/tracking-plan-schema'

interface Location {
  schema: Record<string, unknown> | boolean
  /** The base URI that `$ref`s in this schema resolve against. */
  base: string
}

/** Whether a `patternProperties` regex may match `name` (true when it cannot be read here). */
function nameMatcher(pattern: string): (name: string) => boolean {
  try {
    const regex = linearRegExpEngine(pattern, 'u')
    return (name) => regex.test(name)
  } catch {
    return () => true
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
const isSchema = (v: unknown): v is Record<string, unknown> | boolean => typeof v === 'boolean' || isObject(v)

function resolveUri(ref: string, base: string): URL | null {
  try {
    return new URL(ref, base)
  } catch {
    return null
  }
}

const withoutFragment = (url: URL) => url.href.replace(/#.*$/, '')

/** The document's subschemas by JSON Pointer, the resources (`$id`s) and anchors in it. */
class SchemaIndex {
  readonly locations = new Map<string, Location>()
  /** Resource URI (no fragment) → pointer of its root. */
  readonly #resources = new Map<string, string>()
  /** `resource#anchor` → pointer. */
  readonly #anchors = new Map<string, string>()

  constructor(root: unknown) {
    const rootBase = DEFAULT_BASE
    this.#resources.set(rootBase, '')
    const stack: { node: unknown; pointer: string; base: string }[] = [
      { node: root, pointer: '', base: rootBase },
    ]
    while (stack.length > 0) {
      const { node, pointer, base: parentBase } = stack.pop() as (typeof stack)[number]
      if (!isSchema(node)) continue
      if (typeof node === 'boolean') {
        this.locations.set(pointer, { schema: node, base: parentBase })
        continue
      }
      const base = this.#scope(node, pointer, parentBase)
      this.locations.set(pointer, { schema: node, base })
      const push = (value: unknown, at: string) => stack.push({ node: value, pointer: at, base })
      const key = (k: string) => `${pointer}/${escapePointer(k)}`
      for (const k of ALL_SINGLE) if (isSchema(node[k])) push(node[k], key(k))
      for (const k of ALL_ARRAY) {
        const value = node[k]
        if (Array.isArray(value)) for (let i = 0; i < value.length; i++) push(value[i], `${key(k)}/${i}`)
      }
      for (const k of ALL_MAP) {
        const value = node[k]
        if (isObject(value))
          for (const [name, v] of Object.entries(value)) push(v, `${key(k)}/${escapePointer(name)}`)
      }
    }
  }

  /** Records `node`'s `$id` and anchors; returns the base URI inside it. */
  #scope(node: Record<string, unknown>, pointer: string, parentBase: string): string {
    let base = parentBase
    const id = node.$id
    if (typeof id === 'string') {
      const url = resolveUri(id, parentBase)
      if (url !== null) {
        if (!id.startsWith('#')) {
          base = withoutFragment(url)
          if (!this.#resources.has(base)) this.#resources.set(base, pointer)
        }
        // draft-07 `$id: "#name"` (or `…#name`) names a plain-name anchor.
        const fragment = url.hash.slice(1)
        if (fragment !== '' && !fragment.startsWith('/')) this.#anchors.set(`${base}#${fragment}`, pointer)
      }
    }
    for (const k of ['$anchor', '$dynamicAnchor']) {
      const anchor = node[k]
      if (typeof anchor === 'string') this.#anchors.set(`${base}#${anchor}`, pointer)
    }
    return base
  }

  /** The pointer of the subschema `ref` names from a schema whose base is `base`, or undefined. */
  resolve(ref: string, base: string): string | undefined {
    const url = resolveUri(ref, base)
    if (url === null) return undefined
    const resource = this.#resources.get(withoutFragment(url))
    if (resource === undefined) return undefined
    let fragment: string
    try {
      fragment = decodeURIComponent(url.hash.slice(1))
    } catch {
      return undefined
    }
    // Ajv reads `#/` as the resource itself (not as the key "" of it), so the cycle check must too.
    if (fragment === '' || fragment === '/') return resource
    if (!fragment.startsWith('/')) return this.#anchors.get(`${withoutFragment(url)}#${fragment}`)
    // Re-escape each token, so that the pointer is spelled as the index spells it.
    const tokens = fragment
      .slice(1)
      .split('/')
      .map((t) => escapePointer(t.replace(/~1/g, '/').replace(/~0/g, '~')))
    const pointer = `${resource}/${tokens.join('/')}`
    return this.locations.has(pointer) ? pointer : undefined
  }

  /**
   * The subschemas applied to parts of the value (one level down in the data): to the value of a listed
   * property (`named`, by name, with the `patternProperties` whose regex matches the name), to the value of
   * a key this schema does not list (`otherKeys`: `additionalProperties`, `unevaluatedProperties` and
   * every `patternProperties`, whose regexes may match it), to every key (`everyKey`: `propertyNames`) and
   * to array items (`items`, `prefixItems`, `contains`, …). An over-approximation where a keyword applies
   * only to some unlisted names or some items.
   */
  children(pointer: string): ChildSchemas {
    const out: ChildSchemas = { named: new Map(), everyKey: [], otherKeys: [], items: [] }
    const { schema } = this.locations.get(pointer) as Location
    if (typeof schema === 'boolean') return out
    const key = (k: string) => `${pointer}/${escapePointer(k)}`
    const patterns: { at: string; matches: (name: string) => boolean }[] = []
    if (isObject(schema.patternProperties)) {
      for (const [pattern, v] of Object.entries(schema.patternProperties)) {
        if (!isSchema(v)) continue
        const at = `${key('patternProperties')}/${escapePointer(pattern)}`
        out.otherKeys.push(at)
        patterns.push({ at, matches: nameMatcher(pattern) })
      }
    }
    if (isObject(schema.properties)) {
      for (const [name, v] of Object.entries(schema.properties)) {
        if (!isSchema(v)) continue
        const list = [`${key('properties')}/${escapePointer(name)}`]
        for (const p of patterns) if (p.matches(name)) list.push(p.at)
        out.named.set(name, list)
      }
    }
    if (isSchema(schema.propertyNames)) out.everyKey.push(key('propertyNames'))
    for (const k of ['additionalProperties', 'unevaluatedProperties'])
      if (isSchema(schema[k])) out.otherKeys.push(key(k))
    for (const k of ['items', 'additionalItems', 'contains', 'unevaluatedItems'])
      if (isSchema(schema[k])) out.items.push(key(k))
    for (const k of ['items', 'prefixItems']) {
      const value = schema[k]
      if (Array.isArray(value))
        for (let i = 0; i < value.length; i++) if (isSchema(value[i])) out.items.push(`${key(k)}/${i}`)
    }
    return out
  }

  /** The subschemas applied to the same value as the one at `pointer`. */
  edges(pointer: string): string[] {
    const { schema, base } = this.locations.get(pointer) as Location
    if (typeof schema === 'boolean') return []
    const out: string[] = []
    const key = (k: string) => `${pointer}/${escapePointer(k)}`
    for (const k of IN_PLACE_SINGLE) if (isSchema(schema[k])) out.push(key(k))
    for (const k of IN_PLACE_ARRAY) {
      const value = schema[k]
      if (!Array.isArray(value)) continue
      for (let i = 0; i < value.length; i++) if (isSchema(value[i])) out.push(`${key(k)}/${i}`)
    }
    for (const k of IN_PLACE_MAP) {
      const value = schema[k]
      if (isObject(value)) {
        for (const [name, v] of Object.entries(value))
          if (isSchema(v)) out.push(`${key(k)}/${escapePointer(name)}`)
      }
    }
    if (typeof schema.$ref === 'string') {
      const target = this.resolve(schema.$ref, base)
      if (target !== undefined) out.push(target)
    }
    return out
  }
}

/**
 * The first cycle of same-value applications in `schema`, as URI fragments from the schema where it starts
 * back to that schema (e.g. `['#', '#/allOf/0', '#']`), or null if there is none.
 */
export function findRefCycle(schema: unknown): string[] | null {
  const index = new SchemaIndex(schema)
  const state = new Map<string, 'open' | 'done'>()
  for (const start of index.locations.keys()) {
    if (state.has(start)) continue
    // Iterative depth-first search: a long chain of $refs must not overflow the checker's own stack.
    const path: { pointer: string; edges: string[]; next: number }[] = []
    const enter = (pointer: string) => {
      state.set(pointer, 'open')
      path.push({ pointer, edges: index.edges(pointer), next: 0 })
    }
    enter(start)
    while (path.length > 0) {
      const top = path[path.length - 1]
      if (top.next === top.edges.length) {
        state.set(top.pointer, 'done')
        path.pop()
        continue
      }
      const to = top.edges[top.next++]
      const seen = state.get(to)
      if (seen === 'open') {
        const from = path.findIndex((p) => p.pointer === to)
        return [...path.slice(from).map((p) => p.pointer), to].map((p) => `#${p}`)
      }
      if (seen === undefined) enter(to)
    }
  }
  return null
}

/**
 * The first `$ref` of `schema` that does not lead to a subschema of the document (as `{ at, ref }`), or
 * null. Ajv follows a `$ref` into a `default`, `const`, `enum` or `examples` value and compiles what it
 * finds there as a schema, out of sight of the cycle check and the keyword checks (a cycle hidden in a
 * `default` overflowed the stack on every event).
 */
export function findRefOutsideSchemas(schema: unknown): { at: string; ref: string } | null {
  const index = new SchemaIndex(schema)
  for (const [pointer, { schema: node, base }] of index.locations) {
    if (typeof node === 'boolean' || typeof node.$ref !== 'string') continue
    if (index.resolve(node.$ref, base) === undefined) return { at: `#${pointer}`, ref: node.$ref }
  }
  return null
}

/**
 * Most schema checks one value of an event may get from a tracking-plan schema (`checkBounds`). Ajv
 * applies each subschema a `$ref`, `allOf`, `anyOf`… reaches, and every path counts: 32 definitions each
 * referring twice to the next (2.5 KB) applied 2^32 checks to one property — one event blocked the server
 * for 34 s, and with `allErrors` a failing one ran it out of memory. A `oneOf` listing a few hundred
 * constants at one property stays under the bound.
 */
export const MAX_CHECKS_PER_VALUE = 1_000
/**
 * Most checks one value at a position that repeats (an array's items, the values of keys a schema does
 * not list) may get: an event holds up to ~16,000 such values (32 KB of `[1,1,…]`), so 64 checks each is
 * ~1M checks an event at worst. 990 checks per item took 1.6 s for 15,000 items, and a failing `anyOf` of
 * 100 branches collected 1.5M errors (1.1 GB).
 */
export const MAX_CHECKS_PER_REPEATED_VALUE = 64
/** Data depth the bounds are checked to: deeper than events may nest (16 by default). */
const CHECKED_DEPTH = 64

export interface CheckBounds {
  /** Most checks any one value of the data may get. */
  perValue: number
  /** Most checks one value at a repeating position (array item, unlisted key's value) may get; 0: none. */
  perRepeatedValue: number
}

/**
 * Upper bounds of the subschemas Ajv applies to one value of the data (the event's properties) when
 * validating it against `schema` (`Infinity` past `cap`). Counted over the document's subschema graph as if
 * every `$ref` were inlined: a value gets the subschemas its parent's applied subschemas apply to its name
 * (or to any name, or to items), and those they apply in place. Recursion through properties or items is
 * followed as deep as CHECKED_DEPTH; one that applies a schema more than once per level grows
 * geometrically and passes `cap` within a few levels. Positions are told apart as the data can hold them:
 * a listed property once per object, items and unlisted keys many times (`perRepeatedValue`). Call after
 * `findRefCycle` found none (the in-place graph is acyclic).
 */
export function checkBounds(schema: unknown, cap = MAX_CHECKS_PER_VALUE): CheckBounds {
  const index = new SchemaIndex(schema)
  const pointers = [...index.locations.keys()]
  const edges = new Map(pointers.map((p) => [p, index.edges(p)]))
  const children = new Map(pointers.map((p) => [p, index.children(p)]))
  // In-place targets before the schemas that apply them (iterative post-order: long $ref chains).
  const order: string[] = []
  const visited = new Set<string>()
  for (const start of pointers) {
    if (visited.has(start)) continue
    const stack: { pointer: string; next: number }[] = [{ pointer: start, next: 0 }]
    visited.add(start)
    while (stack.length > 0) {
      const top = stack[stack.length - 1]
      const out = edges.get(top.pointer) as string[]
      if (top.next < out.length) {
        const to = out[top.next++]
        if (!visited.has(to)) {
          visited.add(to)
          stack.push({ pointer: to, next: 0 })
        }
        continue
      }
      order.push(top.pointer)
      stack.pop()
    }
  }
  const clamp = (n: number) => (n > cap ? Number.POSITIVE_INFINITY : n)
  // Past the cap a count is Infinity: a difference then says "unbounded" or "no more than the rest".
  const minus = (a: number, b: number) =>
    a === Number.POSITIVE_INFINITY ? a : b === Number.POSITIVE_INFINITY ? 0 : a - b
  // Checks of the value a schema is applied to: itself and what it applies in place.
  const inPlace = new Map<string, number>()
  for (const p of order)
    inPlace.set(p, clamp((edges.get(p) as string[]).reduce((sum, e) => sum + (inPlace.get(e) as number), 1)))
  // Checks at the end of the worst path of data at most `depth` levels down, from a schema applied once:
  // `once` over paths through listed properties only, `repeated` over paths with an item or unlisted key.
  let once = new Map(inPlace)
  let repeated = new Map(pointers.map((p) => [p, 0]))
  const sum = (list: readonly string[], of: Map<string, number>) =>
    list.reduce((total, c) => total + (of.get(c) as number), 0)
  const worst = (list: readonly string[]) =>
    list.reduce((total, c) => total + Math.max(once.get(c) as number, repeated.get(c) as number), 0)
  for (let depth = 1; depth <= CHECKED_DEPTH; depth++) {
    // One level down: per listed name, what the schema and all it applies in place apply to that name's
    // value (`byName`, on top of `other`, what applies to a name that this schema does not list).
    interface Below {
      other: [once: number, repeated: number]
      byName: Map<string, [once: number, repeated: number]>
      anyKey: number
      item: number
    }
    const below = new Map<string, Below>()
    const nextOnce = new Map<string, number>()
    const nextRepeated = new Map<string, number>()
    let changed = false
    for (const p of order) {
      const own = children.get(p) as ChildSchemas
      const every: [number, number] = [sum(own.everyKey, once), sum(own.everyKey, repeated)]
      const other: [number, number] = [
        every[0] + sum(own.otherKeys, once),
        every[1] + sum(own.otherKeys, repeated),
      ]
      const byName = new Map<string, [number, number]>()
      // A listed name gets its own schemas and the every-key ones, not the unlisted-key ones: kept as the
      // difference from `other`, so that merging schemas that do not list it adds their `other`.
      for (const [name, list] of own.named)
        byName.set(name, [
          minus(every[0] + sum(list, once), other[0]),
          minus(every[1] + sum(list, repeated), other[1]),
        ])
      let anyKey = worst(own.everyKey) + worst(own.otherKeys)
      let item = worst(own.items)
      for (const e of edges.get(p) as string[]) {
        const from = below.get(e) as Below
        other[0] += from.other[0]
        other[1] += from.other[1]
        anyKey += from.anyKey
        item += from.item
        for (const [name, [o, r]] of from.byName) {
          const held = byName.get(name)
          if (held === undefined) byName.set(name, [o, r])
          else byName.set(name, [held[0] + o, held[1] + r])
        }
      }
      below.set(p, { other, byName, anyKey: clamp(anyKey), item: clamp(item) })
      let viaName: [number, number] = [0, 0]
      for (const [o, r] of byName.values())
        viaName = [Math.max(viaName[0], other[0] + o), Math.max(viaName[1], other[1] + r)]
      const onceValue = clamp(Math.max(inPlace.get(p) as number, viaName[0]))
      const repeatedValue = clamp(Math.max(viaName[1], anyKey, item))
      if (onceValue !== once.get(p) || repeatedValue !== repeated.get(p)) changed = true
      nextOnce.set(p, onceValue)
      nextRepeated.set(p, repeatedValue)
    }
    once = nextOnce
    repeated = nextRepeated
    if (!changed) break
  }
  const rootOnce = once.get('') ?? 1
  const rootRepeated = repeated.get('') ?? 0
  return { perValue: Math.max(rootOnce, rootRepeated), perRepeatedValue: rootRepeated }
}

/** The most checks any one value may get (`checkBounds(schema).perValue`). */
export function maxChecksPerValue(schema: unknown, cap = MAX_CHECKS_PER_VALUE): number {
  return checkBounds(schema, cap).perValue
}

/**
 * Throws `schema_invalid` (details: `maxChecksPerValue`, `maxChecksPerRepeatedValue`) when one value of an
 * event could get more than MAX_CHECKS_PER_VALUE checks from `schema`, or one value at a repeating
 * position (an item, an unlisted key's value) more than MAX_CHECKS_PER_REPEATED_VALUE. Call after
 * `assertNoRefCycle`.
 */
export function assertBoundedChecks(schema: unknown): void {
  const bounds = checkBounds(schema)
  const details = {
    maxChecksPerValue: MAX_CHECKS_PER_VALUE,
    maxChecksPerRepeatedValue: MAX_CHECKS_PER_REPEATED_VALUE,
  }
  if (bounds.perValue > MAX_CHECKS_PER_VALUE) {
    throw new AppError(
      'schema_invalid',
      `one value of an event could be checked against more than ${MAX_CHECKS_PER_VALUE} subschemas of this schema (through $refs, allOf, anyOf, oneOf… that reach the same definitions again and again, or one long list of them): validating an event would take too long. Refer to each definition once per value; list constants with "enum"`,
      { details },
    )
  }
  if (bounds.perRepeatedValue > MAX_CHECKS_PER_REPEATED_VALUE) {
    throw new AppError(
      'schema_invalid',
      `each item of an array (or value of a key the schema does not list) could be checked against ${bounds.perRepeatedValue} subschemas; an event holds up to ~16,000 of them, so at most ${MAX_CHECKS_PER_REPEATED_VALUE} are allowed there. Simplify the item schema: an "enum" instead of a oneOf of constants, fewer allOf/anyOf branches`,
      { details },
    )
  }
}

/** Throws `schema_invalid` (details: `refCycle`) when `schema` has a cycle that `findRefCycle` finds. */
export function assertNoRefCycle(schema: unknown): void {
  const outside = findRefOutsideSchemas(schema)
  if (outside !== null) {
    throw new AppError(
      'schema_invalid',
      `the $ref ${JSON.stringify(outside.ref)} at ${outside.at} does not point at a schema of this document (a definition, a property's schema…); a $ref into a default, const, enum or examples value, or to anything outside the document, is refused`,
      { details: { ref: outside.ref, at: outside.at } },
    )
  }
  const cycle = findRefCycle(schema)
  if (cycle === null) return
  throw new AppError(
    'schema_invalid',
    `the schema applies itself to the same value without end (${cycle.join(' → ')}): validating an event would recurse until the stack overflows. A recursive schema must recurse through properties, items or another keyword that moves into the data`,
    { details: { refCycle: cycle } },
  )
}
