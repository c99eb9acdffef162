import { hash } from 'node:crypto'

interface Entry<V> { value: V, expiresAt: number, bytes: number }

/**
 * What one cached verified token costs beyond its claims, measured with V8 heap snapshots of
 * 100k entries: the key (a 43-character digest), the Map slot, the claims object and the
 * principal and outcome objects built from it. The claims' JSON length is added per entry.
 */
export const ENTRY_OVERHEAD_BYTES = 560

/**
 * Verified access tokens, bounded by an estimate of the memory they hold rather than by a count,
 * so that a fleet's hundred thousand tokens in use stay verified once each.
 *
 * Keyed by a SHA-256 digest of the token: a JWT is 700+ characters, most of them the signature,
 * and keeping it as the key would double the size of an entry; a collision-resistant digest
 * names the token as surely (about a microsecond per request, against tens for an RS256
 * verification). The digest is of the whole token, so a token that differs anywhere — a forged
 * signature included — is another key and is verified.
 *
 * Eviction is O(1) and approximates LRU with two generations, as lib/oauth/bounded-cache.ts
 * does: entries go into the young one; a hit in the old one moves the entry to the young one;
 * when the young one holds half the budget, the old one is dropped whole. A hit costs a Map
 * lookup and no re-ordering, which matters on the path of every Bearer request.
 */
export class TokenCache<V> {
  private young = new Map<string, Entry<V>>()
  private old = new Map<string, Entry<V>>()
  private youngBytes = 0
  private oldBytes = 0

  constructor (readonly maxBytes: number) {}

  /** The key a token is held under. */
  static keyOf (token: string): string {
    return hash('sha256', token, 'base64url')
  }

  /** How many entries are held (expired ones included until read). */
  get size (): number { return this.young.size + this.old.size }

  /** The estimated bytes held. */
  get bytes (): number { return this.youngBytes + this.oldBytes }

  get (key: string, now = Date.now()): V | undefined {
    let entry = this.young.get(key)
    if (entry === undefined) {
      entry = this.old.get(key)
      if (entry === undefined) return undefined
      this.old.delete(key)
      this.oldBytes -= entry.bytes
      if (entry.expiresAt <= now) return undefined
      this.insert(key, entry)
      return entry.value
    }
    if (entry.expiresAt <= now) {
      this.young.delete(key)
      this.youngBytes -= entry.bytes
      return undefined
    }
    return entry.value
  }

  /** Holds `value` until `expiresAt`; `bytes` is its estimated size (see ENTRY_OVERHEAD_BYTES). */
  set (key: string, value: V, expiresAt: number, bytes: number): void {
    this.delete(key)
    // An entry larger than a generation would only evict everything else: it is not kept.
    if (bytes > this.maxBytes / 2) return
    this.insert(key, { value, expiresAt, bytes })
  }

  delete (key: string): void {
    const a = this.young.get(key)
    if (a !== undefined) {
      this.young.delete(key)
      this.youngBytes -= a.bytes
    }
    const b = this.old.get(key)
    if (b !== undefined) {
      this.old.delete(key)
      this.oldBytes -= b.bytes
    }
  }

  private insert (key: string, entry: Entry<V>): void {
    if (this.youngBytes + entry.bytes > this.maxBytes / 2) {
      this.old = this.young
      this.oldBytes = this.youngBytes
      this.young = new Map()
      this.youngBytes = 0
    }
    this.young.set(key, entry)
    this.youngBytes += entry.bytes
  }
}
