import { type RawBuilder, type SqlBool, sql } from 'kysely'
import { composePredicate } from '../../query/compose-predicate.js'
import type { CheckedPredicate, PredicateScalar } from '../../query/property-path.js'
import { sqliteJsonPath } from './sqlite-dialect.js'

/**
 * A property predicate as SQLite SQL over a JSON TEXT column. The JSON path and every value are bound
 * parameters. Types are strict: a number only matches JSON numbers, a string only JSON strings
 * (SQLite would otherwise order every number below every text).
 */
export function sqlitePredicate(column: string, pred: CheckedPredicate): RawBuilder<SqlBool> {
  const c = sql.ref(column)
  const p = sqliteJsonPath(pred.keys)
  const type = sql`json_type(${c}, ${p})`
  const value = sql`json_extract(${c}, ${p})`

  return composePredicate(pred, {
    eq(v: PredicateScalar) {
      if (v === null) return sql<SqlBool>`coalesce(${type} = 'null', false)`
      if (typeof v === 'boolean') return sql<SqlBool>`coalesce(${type} = ${v ? 'true' : 'false'}, false)`
      if (typeof v === 'number')
        return sql<SqlBool>`coalesce(${type} in ('integer', 'real') and ${value} = ${v}, false)`
      return sql<SqlBool>`coalesce(${type} = 'text' and ${value} = ${v}, false)`
    },
    compare(op, v) {
      if (typeof v === 'number')
        return sql<SqlBool>`coalesce(${type} in ('integer', 'real') and ${value} ${op} ${v}, false)`
      return sql<SqlBool>`coalesce(${type} = 'text' and ${value} ${op} ${v}, false)`
    },
    contains(v) {
      const member =
        typeof v === 'string'
          ? sql`j.type = 'text' and j.value = ${v}`
          : typeof v === 'number'
            ? sql`j.type in ('integer', 'real') and j.value = ${v}`
            : sql`j.type = ${v ? 'true' : 'false'}`
      const text = typeof v === 'string' ? sql`when 'text' then instr(${value}, ${v}) > 0` : sql``
      return sql<SqlBool>`coalesce(case ${type} ${text} when 'array' then exists (select 1 from json_each(${c}, ${p}) as j where ${member}) else false end, false)`
    },
    exists: () => sql<SqlBool>`${type} is not null`,
  })
}
