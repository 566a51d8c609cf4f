import { type RawBuilder, type SqlBool, sql } from 'kysely'
import type { CheckedPredicate, PredicateScalar } from '../../query/property-path.js'

const CMP = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const

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

  const eq = (v: PredicateScalar): RawBuilder<SqlBool> =>
    sql<SqlBool>`coalesce(${x} = ${JSON.stringify(v)}::jsonb, false)`

  switch (pred.op) {
    case 'eq':
      return eq(pred.value as PredicateScalar)
    case 'ne':
      return sql<SqlBool>`not ${eq(pred.value as PredicateScalar)}`
    case 'in': {
      const list = pred.value as PredicateScalar[]
      if (list.length === 0) return sql<SqlBool>`false`
      return sql<SqlBool>`(${sql.join(list.map(eq), sql` or `)})`
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const op = sql.raw(CMP[pred.op])
      const v = pred.value as string | number
      if (typeof v === 'number') {
        return sql<SqlBool>`coalesce(jsonb_typeof(${x}) = 'number' and ${x} ${op} ${JSON.stringify(v)}::jsonb, false)`
      }
      return sql<SqlBool>`coalesce(jsonb_typeof(${x}) = 'string' and ${text} collate "C" ${op} ${v}::text, false)`
    }
    case 'contains': {
      const v = pred.value as string | number | boolean
      const str = typeof v === 'string' ? sql`when 'string' then strpos(${text}, ${v}::text) > 0` : sql``
      return sql<SqlBool>`coalesce(case jsonb_typeof(${x}) ${str} when 'array' then ${x} @> ${JSON.stringify([v])}::jsonb else false end, false)`
    }
    case 'exists':
      return pred.value === false ? sql<SqlBool>`${x} is null` : sql<SqlBool>`${x} is not null`
  }
}
