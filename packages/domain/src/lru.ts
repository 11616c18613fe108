/**
 * A bounded least-recently-used map. Map keeps insertion order, so re-inserting on every hit
 * moves a key to the young end and the first key is always the oldest: O(1) get and set
 * with no extra structure.
 *
 * It lives in the domain package because it is pure and dependency-free, and both the API's
 * account directory and packages/auth's verified-token cache need it: every other package
 * may import the domain, and the domain imports nothing.
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError('capacity must be a non-negative integer');
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    if (this.capacity === 0) return;
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.map.delete(key);
  }
}
