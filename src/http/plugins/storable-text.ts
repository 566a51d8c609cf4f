import type { FastifyInstance } from 'fastify'
import { AppError } from '../../errors/app-error.js'
import { escapePointer } from '../../validate/issue-list.js'
import { isStorableText } from '../../validate/storable-text.js'

/**
 * Where `value` (a parsed query string, route parameters or JSON body) holds text no store can keep:
 * U+0000 (PostgreSQL refuses it in `text` and `jsonb`) or a lone surrogate (not UTF-8, refused by
 * `jsonb`), in a key or a string. Returns the JSON pointer of the first such place, or null.
 *
 * Iterative, so a deeply nested body cannot overflow the stack.
 */
export function findUnstorableText(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, '']]
  while (stack.length > 0) {
    const [v, path] = stack.pop()!
    if (typeof v === 'string') {
      if (!isStorableText(v)) return path
      continue
    }
    if (typeof v !== 'object' || v === null) continue
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}/${i}`])
      continue
    }
    const entries = Object.entries(v)
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]
      const at = `${path}/${escapePointer(key)}`
      if (!isStorableText(key)) return at
      stack.push([child, at])
    }
  }
  return null
}

/**
 * Refuses, with 400 `validation_failed`, any request whose query string, route parameters or JSON body
 * holds NUL or a lone surrogate — before a handler passes it to the database, where PostgreSQL would fail
 * the statement ("invalid byte sequence", "unsupported Unicode escape sequence") and SQLite would store
 * it. One answer on both stores. Not for the ingest routes: there such text is a per-event finding of the
 * validator, and the event is rejected (and kept, made storable) while the rest of the batch is stored.
 */
export function registerStorableTextCheck(scope: FastifyInstance): void {
  scope.addHook('preValidation', async (request) => {
    // Named as Fastify names them in schema errors (`querystring`), so `details[].in` has one vocabulary.
    const parts = { querystring: request.query, params: request.params, body: request.body } as const
    for (const [part, value] of Object.entries(parts)) {
      const path = findUnstorableText(value)
      if (path === null) continue
      const message = 'contains U+0000 (NUL) or a lone surrogate, which cannot be stored'
      throw new AppError('validation_failed', `${part}${path ? ` ${path}` : ''} ${message}`, {
        details: [{ in: part, path, keyword: 'storable', message }],
      })
    }
  })
}
