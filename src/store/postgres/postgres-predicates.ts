import { type RawBuilder, type SqlBool, sql } from 'kysely'
import { composePredicate } from '../../query/compose-predicate.js'
import type { CheckedPredicate, PredicateScalar } from '../../query/property-path.js'

/** A text[] path literal (keys are validated plain words; quoted anyway), bound as one parameter. */
export function pgJsonPath(keys: readonly string[]): RawBuilder<unknown> {
  return sql`${`{${keys.map((k) => `"${k}"`).join(',')}}`}::text[]`
}

/**
 * A property predicate as PostgreSQL SQL over a jsonb column. The path and every value are bound
 * parameters. jsonb comparison is type-aware (numbers numerically); strings compare in the "C" collation
 * so the order matches SQLite's binary order.
 */
export function postgresPredicate(column: string, pred: CheckedPredicate): RawBuilder<SqlBool> {
  const c = sql.ref(column)
  const p = pgJsonPath(pred.keys)
  const x = sql`(${c} #> ${p})`
  const text = sql`(${c} #>> ${p})`

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
