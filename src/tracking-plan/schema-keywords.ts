/**
 * What the walks over a tracking-plan schema (safe patterns, unsupported keywords) must know of JSON
 * Schema's shape, so that a property *named* `pattern` or `$async` is not taken for the keyword.
 */

/** Keywords whose values are data, not schemas. */
export const DATA_KEYWORDS: ReadonlySet<string> = new Set([
  'const',
  'enum',
  'default',
  'examples',
  'required',
])

/** Keywords whose value maps names (of properties, definitions) to schemas: the map itself is no schema. */
export const SCHEMA_MAPS: ReadonlySet<string> = new Set([
  'properties',
  'patternProperties',
  'definitions',
  '$defs',
  'dependentSchemas',
  'dependencies',
])
