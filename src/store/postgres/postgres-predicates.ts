import { type RawBuilder, type SqlBool, sql } from 'kysely'
import { composePredicate } from '../../query/compose-predicate.js'
import type { CheckedPredicate, PredicateScalar } from '../../query/property-path.js'

/**
 * The JSON value at `keys` below `column`: `(column -> 'a' -> 'b')`, each key bound as text. Not `#>`:
 * its path treats a numeric segment as an array index wherever the value is an array, while SQLite's
 * `$."0"` only ever names an object key, so `properties.tags.0` matched on one database and not the other.
 * `jsonb -> text` is NULL on an array, which gives PostgreSQL SQLite's reading.
 */
export function pgJsonValue(column: RawBuilder<unknown>, keys: readonly string[]): RawBuilder<unknown> {
  let out = column
  for (const key of keys) out = sql`${out} -> ${key}::text`
  return sql`(${out})`
}

/** `pgJsonValue` as text (`->>` for the last key): strings unquoted, other values as JSON text. */
export function pgJsonText(column: RawBuilder<unknown>, keys: readonly string[]): RawBuilder<unknown> {
  if (keys.length === 0) return sql`(${column} #>> '{}')`
  let out = column
  for (const key of keys.slice(0, -1)) out = sql`${out} -> ${key}::text`
  return sql`(${out} ->> ${keys[keys.length - 1]}::text)`
}

/**
 * A property predicate as PostgreSQL SQL over a jsonb column. The path and every value are bound
 * parameters. jsonb comparison is type-aware (numbers numerically); strings compare in the "C" collation
 * so the order matches SQLite's binary order.
 */
export function postgresPredicate(column: string, pred: CheckedPredicate): RawBuilder<SqlBool> {
  const c = sql.ref(column)
  const x = pgJsonValue(c, pred.keys)
  const text = pgJsonText(c, pred.keys)

  return composePredicate(pred, {
    eq: (v: PredicateScalar) => sql<SqlBool>`coalesce(${x} = ${JSON.stringify(v)}::jsonb, false)`,
    compare(op, v) {
      if (typeof v === 'number') {
        return sql<SqlBool>`coalesce(jsonb_typeof(${x}) = 'number' and ${x} ${op} ${JSON.stringify(v)}::jsonb, false)`
      }
      return sql<SqlBool>`coalesce(jsonb_typeof(${x}) = 'string' and ${text} collate "C" ${op} ${v}::text, false)`
    },
    contains(v) {
      const str = typeof v === 'string' ? sql`when 'string' then strpos(${text}, ${v}::text) > 0` : sql``
      return sql<SqlBool>`coalesce(case jsonb_typeof(${x}) ${str} when 'array' then ${x} @> ${JSON.stringify([v])}::jsonb else false end, false)`
    },
    exists: () => sql<SqlBool>`${x} is not null`,
  })
}
