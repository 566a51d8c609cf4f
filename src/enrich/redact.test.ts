import { describe, expect, it } from 'vitest'
import { createRedactor, passesLuhn, REDACTED, redactString } from './redact.js'

describe('createRedactor', () => {
  const redact = createRedactor()

  it('should redact default keys case- and separator-insensitively, at any depth and in arrays', () => {
    const input = {
      Password: 'hunter2',
      nested: {
        api_key: 'k',
        deeper: [{ 'Credit-Card': '4111 1111 1111 1111', ok: 1 }, { accessToken: 'abc' }],
      },
      CVV: 123,
      plan: 'pro',
    }
    expect(redact(input)).toEqual({
      Password: REDACTED,
      nested: { api_key: REDACTED, deeper: [{ 'Credit-Card': REDACTED, ok: 1 }, { accessToken: REDACTED }] },
      CVV: REDACTED,
      plan: 'pro',
    })
  })

  it('should redact e-mail addresses and Luhn-valid card numbers inside values', () => {
    expect(redact({ note: 'write to Ann.Lee+x@mail.example.com now', list: ['a@b.io', 'plain'] })).toEqual({
      note: `write to ${REDACTED} now`,
      list: [REDACTED, 'plain'],
    })
    expect(redact({ memo: 'card 4111-1111-1111-1111 ok' })).toEqual({ memo: `card ${REDACTED} ok` })
  })

  it('should not redact look-alikes: non-Luhn digits, millisecond timestamps, numbers, @handles', () => {
    const input = {
      order: '4111111111111112',
      ts: '1732700000000',
      n: 4111111111111111,
      handle: '@tally',
      sku: 'A-1234',
    }
    expect(redact(input)).toBe(input)
  })

  it('should add project keys and never mutate the input', () => {
    const custom = createRedactor(['Birth Date'])
    const input = Object.freeze({
      birth_date: '1990-01-01',
      inner: Object.freeze({ token: 't', keep: 'k' }),
      keep: [1],
    })
    const out = custom(input)
    expect(out).toEqual({ birth_date: REDACTED, inner: { token: REDACTED, keep: 'k' }, keep: [1] })
    expect(out).not.toBe(input)
    expect(out.keep).toBe(input.keep) // unchanged branches are shared, not copied
    expect(input.birth_date).toBe('1990-01-01')
  })
})

describe('createRedactor with exempt keys', () => {
  it('should keep values under an exempt key as sent, at any depth, matching the key whole', () => {
    const redact = createRedactor([], ['email', 'Session Token'])
    const input = {
      Email: 'ann@example.com',
      backupEmail: 'ann@example.com',
      user: { e_mail: 'ann@example.com', sessionToken: 'abc', token: 'def' },
    }
    expect(redact(input)).toEqual({
      Email: 'ann@example.com',
      backupEmail: REDACTED,
      user: { e_mail: 'ann@example.com', sessionToken: 'abc', token: REDACTED },
    })
  })

  it('should exempt top-level keys next to keepKeys', () => {
    const redact = createRedactor([], ['email'])
    expect(redact({ email: 'a@b.io', note: 'a@b.io' }, new Set(['userAgent']))).toEqual({
      email: 'a@b.io',
      note: REDACTED,
    })
  })
})

describe('redact with keepKeys', () => {
  it('should leave top-level kept keys unscanned and still redact the rest', () => {
    const redact = createRedactor()
    const input = { userAgent: 'Agent a@b.io', note: 'a@b.io', nested: { userAgent: 'a@b.io' } }
    expect(redact(input, new Set(['userAgent']))).toEqual({
      userAgent: 'Agent a@b.io',
      note: REDACTED,
      nested: { userAgent: REDACTED },
    })
  })
})

describe('passesLuhn / redactString', () => {
  it('should check the Luhn digit', () => {
    expect(passesLuhn('4111111111111111')).toBe(true)
    expect(passesLuhn('4111111111111112')).toBe(false)
    expect(redactString('nothing here')).toBe('nothing here')
  })
})
