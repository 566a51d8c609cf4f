import { describe, expect, it } from 'vitest'
import { toStoreError } from './store-errors.js'

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code })

describe('toStoreError', () => {
  it('should answer 400 for a value PostgreSQL refuses as data (SQLSTATE class 22), not 500', () => {
    const e = toStoreError(pgError('22P05', 'unsupported Unicode escape sequence'))
    expect([e.code, e.statusCode]).toEqual(['validation_failed', 400])
    expect(e.message).toContain('unsupported Unicode escape sequence')
    expect(toStoreError(pgError('22003', 'value out of range')).code).toBe('validation_failed')
  })

  it('should keep unavailable databases retriable and other failures internal', () => {
    expect(toStoreError(pgError('57P01', 'terminating connection')).code).toBe('store_unavailable')
    // A database not accepting connections, dropped, or refusing the credentials: 503, not 500.
    // …and a statement cancelled by statement_timeout or refused a lock (a table locked by maintenance).
    for (const code of ['55000', '3D000', '28P01', '28000', '55P03', '42501'])
      expect(toStoreError(pgError(code, 'database "d" is not currently accepting connections')).code).toBe(
        'store_unavailable',
      )
    expect(toStoreError(pgError('SQLITE_BUSY', 'database is locked')).retryAfterSeconds).toBeGreaterThan(0)
    expect(toStoreError(pgError('42P01', 'relation does not exist')).code).toBe('internal')
  })

  it('should call a statement cancelled by statement_timeout a query timeout, not an unavailable database', () => {
    // A trial: a 1M-event scan hitting the 30 s limit was "The database is unavailable; retry".
    const e = toStoreError(pgError('57014', 'canceling statement due to statement timeout'))
    expect([e.code, e.statusCode]).toEqual(['query_timeout', 503])
    expect(e.message).toMatch(/narrow it/)
    expect(e.retryAfterSeconds).toBeGreaterThan(0)
  })

  it('should say what to check when a retry alone will not help (a CLI user was told to retry a typo)', () => {
    expect(toStoreError(pgError('3D000', 'database "tally_typo" does not exist')).message).toMatch(
      /does not exist; check the name in TALLY_DATABASE_URL/,
    )
    expect(toStoreError(pgError('28P01', 'password authentication failed')).message).toMatch(/credentials/)
    expect(toStoreError(pgError('SQLITE_READONLY', 'attempt to write a readonly database')).message).toMatch(
      /read-only for this user/,
    )
    expect(toStoreError(pgError('57P01', 'terminating connection')).message).toMatch(/retry after/)
  })
})
