interface Entry<V> { value: V, expiresAt: number }

/**
 * A Map bounded in size whose entries may also expire. Recently used entries survive: entries
 * live in two generations, and a hit in the old one promotes the entry to the young one; when the
 * young generation is full, the old one is dropped whole. This approximates LRU without
 * re-ordering a Map on every hit (the hot path of every authenticated request reads it), and a
 * flood of one-off keys cannot grow memory past `maxEntries`.
 */
export class BoundedCache<K, V> {
  private young = new Map<K, Entry<V>>()
  private old = new Map<K, Entry<V>>()
  private readonly generationSize: number

  constructor (readonly maxEntries: number, readonly defaultTtlMs = Number.POSITIVE_INFINITY) {
    this.generationSize = Math.max(1, Math.floor(maxEntries / 2))
  }

  /** How many entries are held (expired ones included until they are read or pruned). */
  get size (): number { return this.young.size + this.old.size }

  get (key: K, now = Date.now()): V | undefined {
    let entry = this.young.get(key)
    if (entry === undefined) {
      entry = this.old.get(key)
      if (entry === undefined) return undefined
      this.old.delete(key)
      if (entry.expiresAt <= now) return undefined
      this.insert(key, entry)
      return entry.value
    }
    if (entry.expiresAt <= now) {
      this.young.delete(key)
      return undefined
    }
    return entry.value
  }

  has (key: K, now = Date.now()): boolean {
    return this.get(key, now) !== undefined
  }

  set (key: K, value: V, expiresAt = Date.now() + this.defaultTtlMs): void {
    this.old.delete(key)
    this.insert(key, { value, expiresAt })
  }

  private insert (key: K, entry: Entry<V>): void {
    if (!this.young.has(key) && this.young.size >= this.generationSize) {
      this.old = this.young
      this.young = new Map()
    }
    this.young.set(key, entry)
  }

  delete (key: K): boolean {
    const a = this.young.delete(key)
    const b = this.old.delete(key)
    return a || b
  }

  /** Deletes every entry whose value matches. */
  deleteWhere (match: (value: V, key: K) => boolean): void {
    for (const map of [this.young, this.old]) {
      for (const [key, entry] of map) if (match(entry.value, key)) map.delete(key)
    }
  }

  clear (): void {
    this.young.clear()
    this.old.clear()
  }

  /** Drops expired entries (they are otherwise dropped lazily, on read). */
  prune (now = Date.now()): void {
    for (const map of [this.young, this.old]) {
      for (const [key, entry] of map) if (entry.expiresAt <= now) map.delete(key)
    }
  }
}
