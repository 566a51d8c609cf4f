import type { RawBuilder } from 'kysely'
import { canonicalJson } from '../schema/canonical-json.js'
import type { StoreDialect } from '../store/dialect.js'

/**
 * The group key of a JSON value, the same on every database and distinct for distinct JSON values:
 * null for a missing value or JSON null; a string as its text, unless that text is itself a JSON text
 * (`10`, `true`, `{"a":1}`, `"x"`), then as its JSON string literal (`"10"`); any other value as its
 * canonical JSON (`canonicalJson`). So number 10 is `10` and string "10" is `"10"`. Decoding: a key that
 * parses as JSON is that JSON value (a string if it parses to one); any other key is a string as is.
 */
export function groupKey(value: unknown): string | null {
  if (value === null || value === undefined) return null
  if (typeof value === 'string') return isJsonText(value) ? JSON.stringify(value) : value
  return canonicalJson(value)
}

// A JSON text starts, after whitespace, with one of these; most strings (paths, names) fail this cheaply.
const JSON_START = /^[ \t\n\r]*[-0-9"[{tfn]/

function isJsonText(s: string): boolean {
  if (!JSON_START.test(s)) return false
  try {
    JSON.parse(s)
    return true
  } catch {
    return false
  }
}

/** The column to select for grouping by the JSON value at `path` of `column`; read it with `jsonGroupKey`. */
export function jsonGroupColumn(
  dialect: StoreDialect,
  column: string,
  path: readonly string[],
): RawBuilder<unknown> {
  return dialect.jsonExtract(column, path, 'json')
}

/** The group key (`groupKey`) of a row's `jsonGroupColumn`. */
export function jsonGroupKey(dialect: StoreDialect, json: unknown): string | null {
  return groupKey(json === null || json === undefined ? null : dialect.fromDbJson(json))
}
