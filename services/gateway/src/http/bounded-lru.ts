/**
 * A map that never holds more than `capacity` entries: reading an entry makes it the most
 * recently used, and adding one beyond the cap evicts the least recently used (a Map keeps
 * insertion order, so the first key is always the eldest). What the gateway keeps per token,
 * per client or per user lives in one of these, so no flood of distinct keys (tokens, addresses,
 * users) can grow a replica's memory without bound.
 */
export class BoundedLru<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }
}
