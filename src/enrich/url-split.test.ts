import { describe, expect, it } from 'vitest'
import { splitUrl } from './url-split.js'

describe('splitUrl', () => {
  it('should split scheme, host, path and query and drop the fragment', () => {
    expect(splitUrl('https://Shop.Example.com/cart/items?utm_source=x&a=1#top')).toEqual({
      scheme: 'https',
      hostname: 'shop.example.com',
      path: '/cart/items',
      search: '?utm_source=x&a=1',
    })
  })

  it('should default the path to / and leave an empty query empty', () => {
    expect(splitUrl('https://example.com')).toMatchObject({ path: '/', search: '' })
    expect(splitUrl('https://example.com?')).toMatchObject({ path: '/', search: '' })
    expect(splitUrl('https://example.com#a?b')).toMatchObject({ path: '/', search: '' })
    expect(splitUrl('https://example.com?q=1')).toMatchObject({ path: '/', search: '?q=1' })
  })

  it('should strip user info and port, and keep IPv6 literals', () => {
    expect(splitUrl('http://user:pw@example.com:8080/a')).toMatchObject({
      hostname: 'example.com',
      path: '/a',
    })
    expect(splitUrl('http://[2001:db8::1]:8080/x')).toMatchObject({ hostname: '[2001:db8::1]', path: '/x' })
    expect(splitUrl('android-app://com.google.android.gm/')).toMatchObject({
      hostname: 'com.google.android.gm',
    })
  })

  it('should return null, not throw, for malformed URLs', () => {
    for (const bad of [
      '',
      'not a url',
      '/relative/path?x=1',
      'example.com/path',
      'https://',
      'https:///path',
      'https//example.com',
      'http://exa mple.com/',
      'http://example.com:99999/',
      'http://example.com:80a/',
      'http://[::1/',
      'http://<script>/',
      '1http://example.com',
      'javascript:alert(1)',
    ]) {
      expect(splitUrl(bad), bad).toBeNull()
    }
  })
})
