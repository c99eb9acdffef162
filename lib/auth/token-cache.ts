import { hash } from 'node:crypto'
import { BoundedCache } from '../oauth/bounded-cache.js'

interface Entry<V> { value: V, expiresAt: number, bytes: number }

/**
 * What one cached verified token costs, its own strings (`jti`, `sid`) aside, measured on the V8
 * heap over 100k entries: the key (a 43-character digest), the Map slot, the claims object (its
 * shared strings interned, see `Interner`), and the principal and outcome objects built from it
 * (about 530 bytes in all with a 22-character `jti`).
 */
export const ENTRY_OVERHEAD_BYTES = 560

/** Distinct claim values (issuers, subjects, clients, scope strings, audiences) held for sharing. */
const INTERNED_MAX = 10_000

/**
 * One copy of each claim value many tokens share. JSON.parse makes new strings for every token:
 * a fleet's tokens of one client would each hold their own copy of its issuer, audience, client
 * id and scope string (hundreds of bytes when it names every scope), which is most of an entry.
 */
export class Interner {
  private readonly strings = new BoundedCache<string, string>(INTERNED_MAX)
  private readonly lists = new BoundedCache<string, readonly string[]>(INTERNED_MAX)

  string<T extends string> (value: T): T {
    const held = this.strings.get(value)
    if (held !== undefined) return held as T
    this.strings.set(value, value)
    return value
  }

  /** `value` as a shared array when it is one of strings; as it is otherwise. */
  list<T> (value: T): T {
    if (!Array.isArray(value) || !value.every(v => typeof v === 'string')) return value
    const key = value.join('\n')
    const held = this.lists.get(key)
    if (held !== undefined) return held as T
    this.lists.set(key, value)
    return value
  }
}

/** Estimated bytes of a cached token whose own strings are these (two bytes a character at most). */
export function entryBytes (...own: Array<string | undefined>): number {
  let bytes = ENTRY_OVERHEAD_BYTES
  for (const s of own) if (s !== undefined) bytes += 2 * s.length
  return bytes
}

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
 * Least recently used first out, in O(1): a Map keeps insertion order, a hit moves its entry to
 * the end (delete and set), and eviction takes from the front. Unlike the two generations of
 * lib/oauth/bounded-cache.ts, whose guaranteed reach is half their size, the whole budget
 * holds the tokens in use: 100,000 tokens presented in turn within a budget for 110,000 are
 * all hits (measured: with two generations, every one was a miss).
 */
export class TokenCache<V> {
  private readonly entries = new Map<string, Entry<V>>()
  private held = 0

  constructor (readonly maxBytes: number) {}

  /** The key a token is held under. */
  static keyOf (token: string): string {
    return hash('sha256', token, 'base64url')
  }

  /** How many entries are held (expired ones included until read or evicted). */
  get size (): number { return this.entries.size }

  /** The estimated bytes held. */
  get bytes (): number { return this.held }

  get (key: string, now = Date.now()): V | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    this.entries.delete(key)
    if (entry.expiresAt <= now) {
      this.held -= entry.bytes
      return undefined
    }
    this.entries.set(key, entry)
    return entry.value
  }

  /** Holds `value` until `expiresAt`; `bytes` is its estimated size (see `entryBytes`). */
  set (key: string, value: V, expiresAt: number, bytes: number): void {
    this.delete(key)
    // An entry larger than the budget would only evict everything else: it is not kept.
    if (bytes > this.maxBytes) return
    this.entries.set(key, { value, expiresAt, bytes })
    this.held += bytes
    for (const [oldest, entry] of this.entries) {
      if (this.held <= this.maxBytes) break
      this.entries.delete(oldest)
      this.held -= entry.bytes
    }
  }

  delete (key: string): void {
    const entry = this.entries.get(key)
    if (entry === undefined) return
    this.entries.delete(key)
    this.held -= entry.bytes
  }
}
