/**
 * A bounded least-recently-used cache on a `Map` (insertion order = recency order). Small on purpose: the
 * pipeline caches parsed user agents and referrer classes, where a hit must cost one `Map.get`.
 *
 * A hit moves the key to the young end (delete + set) only once the cache is at least half full: before
 * that nothing can be evicted soon, so recency does not matter and a hit stays a single `Map.get`.
 * Why not the `lru-cache` package: this is 30 lines and the pipeline needs nothing else from it.
 */
export class LruCache<K, V> {
  readonly #map = new Map<K, V>()
  readonly #capacity: number

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('LruCache capacity must be >= 1')
    this.#capacity = capacity
  }

  get size(): number {
    return this.#map.size
  }

  get(key: K): V | undefined {
    const value = this.#map.get(key)
    if (value !== undefined && this.#map.size * 2 >= this.#capacity) {
      this.#map.delete(key)
      this.#map.set(key, value)
    }
    return value
  }

  set(key: K, value: V): void {
    if (this.#map.has(key)) this.#map.delete(key)
    else if (this.#map.size >= this.#capacity) {
      const oldest = this.#map.keys().next().value as K
      this.#map.delete(oldest)
    }
    this.#map.set(key, value)
  }
}
