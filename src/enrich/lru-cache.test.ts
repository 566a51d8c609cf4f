import { describe, expect, it } from 'vitest'
import { LruCache } from './lru-cache.js'

describe('LruCache', () => {
  it('should evict the least recently used entry when full', () => {
    const c = new LruCache<string, number>(2)
    c.set('a', 1)
    c.set('b', 2)
    expect(c.get('a')).toBe(1) // a is now the most recent
    c.set('c', 3)
    expect(c.get('b')).toBeUndefined()
    expect(c.get('a')).toBe(1)
    expect(c.get('c')).toBe(3)
    expect(c.size).toBe(2)
  })

  it('should overwrite without growing and refuse a capacity below 1', () => {
    const c = new LruCache<string, number>(1)
    c.set('a', 1)
    c.set('a', 2)
    expect(c.size).toBe(1)
    expect(c.get('a')).toBe(2)
    expect(() => new LruCache(0)).toThrow(RangeError)
  })
})
