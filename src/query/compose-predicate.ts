import { type RawBuilder, type SqlBool, sql } from 'kysely'
import type { CheckedPredicate, PredicateScalar } from './property-path.js'

/** The SQL pieces a dialect supplies for one JSON path; `composePredicate` turns an operator into them. */
export interface PredicateParts {
  /** The value at the path equals `v`, with JSON types respected (a number never equals a string). */
  eq(v: PredicateScalar): RawBuilder<SqlBool>
  /** The value at the path compares to `v` by `op` (numbers numerically, strings in binary order). */
  compare(op: RawBuilder<unknown>, v: string | number): RawBuilder<SqlBool>
  /** The string at the path contains `v`, or the array at the path has the member `v`. */
  contains(v: string | number | boolean): RawBuilder<SqlBool>
  /** A value (JSON null included) is present at the path. */
  exists(): RawBuilder<SqlBool>
}

const CMP = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const

/**
 * One property predicate as SQL, the same operator semantics on every dialect: `ne` is the negation of
 * `eq`, `in` an OR of `eq`s (an empty list matches nothing), `exists: false` the negation of `exists`.
 */
export function composePredicate(pred: CheckedPredicate, parts: PredicateParts): RawBuilder<SqlBool> {
  switch (pred.op) {
    case 'eq':
      return parts.eq(pred.value as PredicateScalar)
    case 'ne':
      return sql<SqlBool>`not ${parts.eq(pred.value as PredicateScalar)}`
    case 'in': {
      const list = pred.value as PredicateScalar[]
      if (list.length === 0) return sql<SqlBool>`false`
      return sql<SqlBool>`(${sql.join(list.map(parts.eq), sql` or `)})`
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return parts.compare(sql.raw(CMP[pred.op]), pred.value as string | number)
    case 'contains':
      return parts.contains(pred.value as string | number | boolean)
    case 'exists':
      return pred.value === false ? sql<SqlBool>`not ${parts.exists()}` : parts.exists()
  }
}
