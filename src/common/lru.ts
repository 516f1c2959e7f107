/**
 * A size-bounded map that evicts the least recently used entry: the one
 * bounded per-peer table of the code base, so a node that meets thousands of
 * peers keeps memory bounded. Used for per-peer session records (each holds
 * two model replicas), the announcement table and the per-peer stream
 * limiter's buckets.
 *
 *   const records = new LruMap<string, Rec>(16, (r) => !r.busy);
 *   records.set(id, rec); records.get(id); // get marks it recently used
 *   records.peek(id);                      // reads without marking it used
 *
 * "Used" means `set` or `get`: a table that should evict by insertion order
 * (oldest written first) reads with `peek` only.
 */
export class LruMap<K, V> {
  readonly capacity: number;
  private readonly entries = new Map<K, V>();
  private readonly evictable: (value: V) => boolean;

  /** `evictable` may protect entries in use; when none is evictable the map grows past capacity until one is (the entry just set is never evicted). */
  constructor(capacity: number, evictable: (value: V) => boolean = () => true) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`LRU capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.evictable = evictable;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      // Map keeps insertion order: re-inserting moves the key to the most recent end.
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  /** The value without marking it recently used. */
  peek(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    this.evictOverflow(key);
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  /** Keys, least recently used first. */
  keys(): IterableIterator<K> {
    return this.entries.keys();
  }

  /** Values, least recently used first. */
  values(): IterableIterator<V> {
    return this.entries.values();
  }

  /** Entries, least recently used first; deleting the current entry while iterating is safe. */
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries[Symbol.iterator]();
  }

  /** Evicts least recently used evictable entries, never the one just set. */
  private evictOverflow(justSet: K): void {
    if (this.entries.size <= this.capacity) return;
    for (const [key, value] of this.entries) {
      if (this.entries.size <= this.capacity) return;
      if (key !== justSet && this.evictable(value)) this.entries.delete(key);
    }
  }
}
