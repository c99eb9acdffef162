/**
 * A Map bounded in size, whose entries may also expire. Least recently used entries go first
 * when it is full, so a flood of one-off keys cannot grow memory without limit.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, { value: V, expiresAt: number }>()

  constructor (readonly maxEntries: number, readonly defaultTtlMs = Number.POSITIVE_INFINITY) {}

  get size (): number { return this.entries.size }

  get (key: K, now = Date.now()): V | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= now) {
      this.entries.delete(key)
      return undefined
    }
    // Re-insert: Map keeps insertion order, so the first key is the least recently used.
    this.entries.delete(key)
    this.entries.set(key, entry)
    return entry.value
  }

  has (key: K, now = Date.now()): boolean {
    return this.get(key, now) !== undefined
  }

  set (key: K, value: V, expiresAt = Date.now() + this.defaultTtlMs): void {
    this.entries.delete(key)
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next()
      if (oldest.done !== true) this.entries.delete(oldest.value)
    }
    this.entries.set(key, { value, expiresAt })
  }

  delete (key: K): boolean {
    return this.entries.delete(key)
  }

  /** Deletes every entry whose value matches. */
  deleteWhere (match: (value: V, key: K) => boolean): void {
    for (const [key, entry] of this.entries) if (match(entry.value, key)) this.entries.delete(key)
  }

  clear (): void {
    this.entries.clear()
  }

  /** Drops expired entries (they are otherwise dropped lazily, on read). */
  prune (now = Date.now()): void {
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key)
  }
}
