import { describe, expect, it } from 'vitest'
import { createReferrerClassifier, lookupReferrerHost } from './referrer.js'

describe('lookupReferrerHost', () => {
  it('should classify search engines under any country domain', () => {
    for (const h of [
      'google.com',
      'google.co.uk',
      'news.google.de',
      'bing.com',
      'duckduckgo.com',
      'yandex.ru',
      'search.yahoo.co.jp',
    ]) {
      expect(lookupReferrerHost(h), h).toBe('search')
    }
  })

  it('should classify social networks, webmail and the rest', () => {
    expect(lookupReferrerHost('t.co')).toBe('social')
    expect(lookupReferrerHost('l.facebook.com')).toBe('social')
    expect(lookupReferrerHost('mail.google.com')).toBe('email')
    expect(lookupReferrerHost('example.org')).toBe('other')
    expect(lookupReferrerHost('googleusercontent.com')).toBe('other')
    expect(lookupReferrerHost('notgoogle.com')).toBe('other')
    expect(lookupReferrerHost('google.example.org')).toBe('other')
  })
})

describe('createReferrerClassifier', () => {
  const classify = createReferrerClassifier()
  it('should say internal for the page host, ignoring www', () => {
    expect(classify('www.shop.example', 'shop.example')).toBe('internal')
    expect(classify('shop.example', 'www.shop.example')).toBe('internal')
  })
  it('should say direct without a referrer, or email when the campaign medium is e-mail', () => {
    expect(classify(null, 'shop.example')).toBe('direct')
    expect(classify(null, 'shop.example', 'Email')).toBe('email')
  })
  it('should classify other hosts from the table', () => {
    expect(classify('www.google.com', 'shop.example')).toBe('search')
    expect(classify('blog.example', null)).toBe('other')
  })
})
