import { describe, expect, it } from 'vitest'
import { anonymiseIp, normaliseRawIp, parseIpv6 } from './ip.js'

describe('anonymiseIp', () => {
  it('should keep the /24 of an IPv4 address', () => {
    expect(anonymiseIp('203.0.113.77')).toBe('203.0.113.0')
    expect(anonymiseIp('010.001.002.003')).toBe('10.1.2.0')
  })

  it('should keep the /48 of an IPv6 address in any notation', () => {
    expect(anonymiseIp('2001:0db8:85a3:08d3:1319:8a2e:0370:7344')).toBe('2001:db8:85a3::')
    expect(anonymiseIp('2001:DB8::1')).toBe('2001:db8::')
    expect(anonymiseIp('2001:0:5:6::1')).toBe('2001:0:5::')
    expect(anonymiseIp('[2001:db8:1:2::1]')).toBe('2001:db8:1::')
    expect(anonymiseIp('fe80::1%eth0')).toBe('fe80::')
    expect(anonymiseIp('::1')).toBe('::')
  })

  it('should treat IPv4-mapped IPv6 as the IPv4 address it carries', () => {
    expect(anonymiseIp('::ffff:203.0.113.77')).toBe('203.0.113.0')
    expect(anonymiseIp('::ffff:cb00:714d')).toBe('203.0.113.0')
  })

  it('should return null for anything that is not an IP', () => {
    for (const bad of [
      '',
      'localhost',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1.2.3.4:80',
      '1:2:3',
      'g::1',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
    ]) {
      expect(anonymiseIp(bad), bad).toBeNull()
    }
  })
})

describe('normaliseRawIp', () => {
  it('should keep valid addresses and unwrap IPv4-mapped ones', () => {
    expect(normaliseRawIp('203.0.113.77')).toBe('203.0.113.77')
    expect(normaliseRawIp('[2001:db8::1]')).toBe('2001:db8::1')
    expect(normaliseRawIp('::ffff:203.0.113.77')).toBe('203.0.113.77')
    expect(normaliseRawIp('nope')).toBeNull()
  })
})

describe('parseIpv6', () => {
  it('should expand :: and an embedded IPv4 tail', () => {
    expect(parseIpv6('1::')).toEqual([1, 0, 0, 0, 0, 0, 0, 0])
    expect(parseIpv6('64:ff9b::192.0.2.33')).toEqual([0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221])
  })
})
