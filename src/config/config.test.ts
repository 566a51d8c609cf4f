import { describe, expect, it } from 'vitest'
import { AppError } from '../errors/app-error.js'
import { loadConfig, parseCorsOrigins, parseTrustProxy } from './config.js'

function configError(fn: () => unknown): AppError {
  try {
    fn()
  } catch (err) {
    if (err instanceof AppError) return err
    throw err
  }
  throw new Error('expected an error')
}

describe('loadConfig', () => {
  it('should give the documented defaults when nothing is set', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      databaseUrl: 'sqlite:./data/tally.db',
      host: '127.0.0.1',
      port: 8080,
      bodyLimit: 500 * 1024,
      migrateOnStart: true,
      logLevel: 'info',
      trustProxy: '',
    })
    expect(config.writeKey).toBeUndefined()
  })

  it('should coerce numbers and booleans from environment strings', () => {
    const config = loadConfig({
      TALLY_PORT: '3000',
      TALLY_MIGRATE_ON_START: 'false',
      TALLY_BODY_LIMIT: '2048',
    })
    expect(config.port).toBe(3000)
    expect(config.migrateOnStart).toBe(false)
    expect(config.bodyLimit).toBe(2048)
  })

  it('should let flags win over the environment', () => {
    const config = loadConfig(
      { TALLY_PORT: '3000', TALLY_DATABASE_URL: 'sqlite:/a.db' },
      { port: '4000', db: 'sqlite:/b.db' },
    )
    expect(config.port).toBe(4000)
    expect(config.databaseUrl).toBe('sqlite:/b.db')
  })

  it('should treat an empty variable as unset', () => {
    expect(loadConfig({ TALLY_PORT: '' }).port).toBe(8080)
  })

  it('should return a deep-frozen object', () => {
    const config = loadConfig({})
    expect(Object.isFrozen(config)).toBe(true)
    expect(() => {
      ;(config as { port: number }).port = 1
    }).toThrow()
  })

  it('should name the variable, the rule and the value when a value is invalid', () => {
    const err = configError(() => loadConfig({ TALLY_PORT: '70000', TALLY_LOG_LEVEL: 'loud' }))
    expect(err.code).toBe('config_invalid')
    expect(err.message).toContain('TALLY_PORT (--port) must be <= 65535; got "70000"')
    expect(err.message).toContain(
      'TALLY_LOG_LEVEL (--log-level) must be one of fatal, error, warn, info, debug, trace, silent',
    )
  })

  it('should refuse a non-numeric port and a too-short key', () => {
    const err = configError(() => loadConfig({ TALLY_PORT: 'http', TALLY_WRITE_KEY: 'short' }))
    expect(err.message).toContain('TALLY_PORT')
    expect(err.message).toContain('TALLY_WRITE_KEY must NOT have fewer than 16 characters')
  })

  it('should refuse a database URL of an unknown kind', () => {
    const err = configError(() => loadConfig({}, { db: 'mysql://x' }))
    expect(err.message).toContain('must start with sqlite:, postgres:// or postgresql://')
  })

  it('should not read process.env when an env object is given', () => {
    process.env.TALLY_PORT = '1234'
    try {
      expect(loadConfig({}).port).toBe(8080)
    } finally {
      delete process.env.TALLY_PORT
    }
  })
})

describe('parseTrustProxy', () => {
  it('should map the accepted spellings to Fastify trustProxy values', () => {
    expect(parseTrustProxy('')).toBe(false)
    expect(parseTrustProxy('true')).toBe(true)
    expect(parseTrustProxy('0')).toBe(false)
    // A hop count is a function: Fastify 5 treats a plain number as trust-nothing.
    const hops = parseTrustProxy('2') as (address: string, hop: number) => boolean
    expect(typeof hops).toBe('function')
    expect([0, 1, 2].map((hop) => hops('10.0.0.1', hop))).toEqual([true, true, false])
    expect(parseTrustProxy('10.0.0.0/8, 127.0.0.1')).toEqual(['10.0.0.0/8', '127.0.0.1'])
  })

  it('should refuse a value that is no address', () => {
    expect(() => loadConfig({ TALLY_TRUST_PROXY: 'everyone' })).toThrow(/TALLY_TRUST_PROXY/)
  })
})

describe('durations and counts beyond any sensible use', () => {
  it.each([
    // Past 2^31 − 1 ms Node fires a timer at once: this cut every shutdown short with exit 1.
    ['TALLY_SHUTDOWN_TIMEOUT_MS', '99999999999'],
    // 0 ended every shutdown at once, exit 1, nothing drained (a trial).
    ['TALLY_SHUTDOWN_TIMEOUT_MS', '0'],
    // A refused client was told to come back in three years.
    ['TALLY_RATE_LIMIT_WINDOW_MS', '99999999999'],
    ['TALLY_RATE_LIMIT_MAX', '99999999999'],
  ])('should refuse %s=%s with config_invalid naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name))
  })
})

describe('parseCorsOrigins', () => {
  it('should allow any origin for * and a list otherwise', () => {
    expect(parseCorsOrigins('*')).toBe(true)
    expect(parseCorsOrigins('https://a.example, http://localhost:3000')).toEqual([
      'https://a.example',
      'http://localhost:3000',
    ])
    expect(() => parseCorsOrigins('a.example')).toThrow(/TALLY_CORS_ORIGINS/)
  })
})

describe('TALLY_TRUST_PROXY addresses', () => {
  it.each(['1.2.3.4/99', '::::', '999.999.999.999', '10.0.0.0/0', '10.0.0.1, fe80::/129'])(
    'should refuse %s at load with config_invalid naming the variable and the entry',
    (value) => {
      let err: unknown
      try {
        loadConfig({ TALLY_TRUST_PROXY: value })
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(AppError)
      expect((err as AppError).code).toBe('config_invalid')
      expect((err as AppError).message).toMatch(/TALLY_TRUST_PROXY/)
      expect((err as AppError).message).not.toMatch(/TypeError/)
    },
  )

  it('should accept addresses, CIDRs, netmasks and proxy-addr names', () => {
    const value = '10.0.0.0/8, 192.168.0.0/255.255.0.0, ::1, fd00::/8, loopback, uniquelocal'
    expect(loadConfig({ TALLY_TRUST_PROXY: value }).trustProxy).toBe(value)
  })
})

describe('configuration error messages', () => {
  const messageOf = (fn: () => unknown): string => {
    try {
      fn()
    } catch (e) {
      return (e as Error).message
    }
    return ''
  }

  it('should name the --log-level flag next to TALLY_LOG_LEVEL', () => {
    const message = messageOf(() => loadConfig({}, { logLevel: 'bogus' }))
    expect(message).toContain('TALLY_LOG_LEVEL (--log-level)')
    expect(message).toContain('fatal, error, warn, info, debug, trace, silent')
  })

  it('should list the allowed values of an enum variable', () => {
    const message = messageOf(() => loadConfig({ TALLY_SQLITE_SYNCHRONOUS: 'off' }))
    expect(message).toContain('TALLY_SQLITE_SYNCHRONOUS must be one of full, normal; got "off"')
  })
})

describe('loadConfig: secrets in errors', () => {
  it('should not echo an invalid key back (it is a secret even when wrong)', () => {
    expect(() => loadConfig({ TALLY_WRITE_KEY: 'tly_w_short' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('tly_w_short') }),
    )
  })
})

describe('values a script gets wrong', () => {
  it('should refuse an empty flag instead of falling back to the default', () => {
    // `--port=$PORT` with PORT unset started on 8080 without a word.
    expect(() => loadConfig({}, { port: '' })).toThrow(/--port is empty/)
    expect(() => loadConfig({}, { host: ' ' })).toThrow(/--host is empty/)
  })

  it('should read integers in decimal only', () => {
    expect(() => loadConfig({ TALLY_PORT: '0x4E2A' })).toThrow(
      /TALLY_PORT \(--port\) must be a whole number written in decimal/,
    )
    expect(() => loadConfig({ TALLY_BODY_LIMIT: '1e6' })).toThrow(/TALLY_BODY_LIMIT/)
    expect(loadConfig({ TALLY_PORT: ' 8081 ' }).port).toBe(8081)
  })
})
