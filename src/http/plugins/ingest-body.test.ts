import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../errors/app-error.js'
import {
  assertUtf8Charset,
  decodeBody,
  MAX_BODY_DEPTH,
  nestsDeeperThan,
  parseJsonBody,
} from './ingest-body.js'

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (err) {
    return err instanceof AppError ? err.code : 'not-an-app-error'
  }
  return undefined
}

describe('nestsDeeperThan', () => {
  it('should count nesting outside strings only', () => {
    expect(nestsDeeperThan('[[[1]]]', 3)).toBe(false)
    expect(nestsDeeperThan('[[[[1]]]]', 3)).toBe(true)
    expect(nestsDeeperThan('{"a":"[[[[[[","b":{"c":[1]}}', 3)).toBe(false)
    expect(nestsDeeperThan('{"a":"x\\"[[[[[[","b":1}', 2)).toBe(false)
    expect(nestsDeeperThan('{"a":"x\\\\","b":[[[[1]]]]}', 3)).toBe(true)
  })
})

describe('parseJsonBody', () => {
  it('should keep __proto__ as an own key without touching prototypes', () => {
    const value = parseJsonBody(Buffer.from('{"__proto__":{"polluted":true}}')) as object
    expect(Object.hasOwn(value, '__proto__')).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('should refuse empty, invalid and absurdly deep bodies with stable codes', async () => {
    expect(await codeOf(() => parseJsonBody(Buffer.alloc(0)))).toBe('invalid_body')
    expect(await codeOf(() => parseJsonBody(Buffer.from('{"a":')))).toBe('invalid_json')
    const deep = '['.repeat(MAX_BODY_DEPTH + 1) + ']'.repeat(MAX_BODY_DEPTH + 1)
    expect(await codeOf(() => parseJsonBody(Buffer.from(deep)))).toBe('invalid_body')
  })

  it('should strip a UTF-8 byte order mark', () => {
    expect(parseJsonBody(Buffer.from('\ufeff{"a":1}'))).toEqual({ a: 1 })
  })
})

describe('decodeBody', () => {
  it('should inflate gzip up to the limit and refuse beyond it', async () => {
    const small = gzipSync('{"a":1}')
    expect((await decodeBody(small, 'gzip', 1024)).toString()).toBe('{"a":1}')
    expect(await codeOf(decodeBody(gzipSync(Buffer.alloc(4096)), 'gzip', 1024))).toBe('payload_too_large')
    expect(await codeOf(decodeBody(Buffer.from('nope'), 'deflate', 1024))).toBe('invalid_encoding')
    expect(await codeOf(decodeBody(Buffer.from('x'), 'compress', 1024))).toBe('unsupported_media_type')
  })
})

describe('assertUtf8Charset', () => {
  it('should accept no charset and UTF-8 in any spelling, and refuse any other charset with 415', async () => {
    for (const ok of [
      undefined,
      'application/json',
      'application/json; charset=utf-8',
      'text/plain;charset="UTF8"',
    ])
      expect(await codeOf(() => assertUtf8Charset(ok))).toBeUndefined()
    for (const bad of ['application/json; charset=utf-16', 'text/plain; charset=iso-8859-1'])
      expect(await codeOf(() => assertUtf8Charset(bad))).toBe('unsupported_media_type')
  })
})
