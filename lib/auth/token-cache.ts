import { hash } from 'node:crypto'
import type { Principal } from '../principal.js'
import { CLOCK_TOLERANCE_MS, type AccessTokenClaims } from '../jwt.js'
import { parseScope } from '../scopes.js'
import { BoundedCache } from '../oauth/bounded-cache.js'

/**
 * What one cached verified token costs, its own strings (`jti`, `sid`) aside: the Map slot, the
 * key (a 43-character digest), the `VerifiedToken` (recency links included) and its frozen
 * principal, the claims its fleet shares being held once (`SharedClaims`). Measured on the V8
 * heap with 36-character `jti`s: 313 bytes an entry (about 260 besides the `jti`) for 100k
 * tokens of one client verified through the auth plugin and hit twice; about 455 for the 50k
 * user tokens of test/auth/token-cache-memory.test.ts, which keeps this estimate above the
 * measure.
 */
export const ENTRY_OVERHEAD_BYTES = 440

/** Distinct shared-claim sets (issuer, subject, client, scope string, audience) held. */
const SHARED_MAX = 10_000

/**
 * The claims a fleet's tokens have in common — one client acting for itself, or one user through
 * one client, with one scope string — and the parsed scope set: held once, not once per token.
 * JSON.parse makes new strings for every token: each would otherwise hold its own copy of the
 * issuer, audience, client id and a scope string of hundreds of bytes.
 */
export interface SharedClaims {
  readonly iss: string
  readonly sub: string
  readonly aud: string | string[]
  readonly scope: string
  readonly client_id: string
  readonly sub_kind: 'user' | 'application'
  readonly scopes: ReadonlySet<string>
}

/** Claims few tokens carry (DPoP binding, an identity provider's assertion): absent for most. */
type RareClaims = Pick<AccessTokenClaims, 'cnf' | 'idp' | 'idp_sub'>

/** Hands out one `SharedClaims` object per distinct combination. */
export class SharedClaimsPool {
  private readonly held = new BoundedCache<string, SharedClaims>(SHARED_MAX)

  of (claims: AccessTokenClaims): SharedClaims {
    const aud = claims.aud
    const key = `${claims.iss}\n${claims.sub}\n${claims.client_id}\n${claims.sub_kind}\n${claims.scope}\n${Array.isArray(aud) ? aud.join('\n') : aud}`
    let shared = this.held.get(key)
    if (shared === undefined) {
      shared = Object.freeze({
        iss: claims.iss,
        sub: claims.sub,
        aud,
        scope: claims.scope,
        client_id: claims.client_id,
        sub_kind: claims.sub_kind,
        scopes: new Set(parseScope(claims.scope))
      })
      this.held.set(key, shared)
    }
    return shared
  }
}

/** Estimated bytes of a cached token whose own strings are these (two bytes a character at most). */
export function entryBytes (...own: Array<string | undefined>): number {
  let bytes = ENTRY_OVERHEAD_BYTES
  for (const s of own) if (s !== undefined) bytes += 2 * s.length
  return bytes
}

/**
 * What the cache needs of an entry: when it expires, what it is estimated to hold, and the links
 * of its recency list (set by the cache). The links live in the entry itself: a separate list
 * node, or a Map re-ordered on every hit, would cost memory times a fleet.
 */
export abstract class CacheEntry {
  /** The key the cache holds this entry under. */
  cacheKey = ''
  /** The entry used just before this one, and just after: the cache's recency list. */
  older: CacheEntry | undefined = undefined
  newer: CacheEntry | undefined = undefined

  /** Epoch seconds. */
  abstract get expiresAtSeconds (): number
  abstract get bytes (): number
}

/**
 * One verified access token, as the cache holds it: a fixed-shape object whose fields are
 * pointers and small integers (times in seconds: a millisecond time would be a boxed number of
 * its own), pointing at the claims it shares with its fleet. The full claims are rebuilt on
 * demand (`claims()`) for the rare callers that want them.
 */
export class VerifiedToken extends CacheEntry {
  /** `AuthState.generation` at which the subject checks last passed; -1 before they ever have. */
  checkedGeneration = -1
  /** Until when (epoch seconds) that answer stands, changes or not. */
  checkedUntil = 0
  /** The principal of that answer: frozen, shared by every request that presents the token. */
  principal: Principal | undefined = undefined

  readonly shared: SharedClaims
  readonly jti: string
  readonly sid: string | undefined
  readonly exp: number
  readonly iat: number
  readonly nbf: number | undefined
  readonly rare: RareClaims | undefined

  constructor (claims: AccessTokenClaims, shared: SharedClaims) {
    super()
    this.shared = shared
    this.jti = claims.jti
    this.sid = claims.sid
    this.exp = claims.exp
    this.iat = claims.iat
    this.nbf = claims.nbf
    const { cnf, idp, idp_sub: idpSubject } = claims
    this.rare = cnf === undefined && idp === undefined ? undefined : { cnf, idp, idp_sub: idpSubject }
  }

  /** When the cache lets go of it (epoch seconds): its expiry plus the clock tolerance. */
  get expiresAtSeconds (): number { return this.exp + CLOCK_TOLERANCE_MS / 1000 }

  /** Its estimated size for the cache's budget. */
  get bytes (): number { return entryBytes(this.jti, this.sid) }

  /** The token's claims as verified (those this service reads), as a new object. */
  claims (): AccessTokenClaims {
    const { iss, sub, aud, scope, client_id: clientId, sub_kind: subKind } = this.shared
    const claims: AccessTokenClaims = { iss, sub, aud, exp: this.exp, iat: this.iat, jti: this.jti, scope, client_id: clientId, sub_kind: subKind }
    if (this.nbf !== undefined) claims.nbf = this.nbf
    if (this.sid !== undefined) claims.sid = this.sid
    const rare = this.rare
    if (rare?.cnf !== undefined) claims.cnf = rare.cnf
    if (rare?.idp !== undefined) claims.idp = rare.idp
    if (rare?.idp_sub !== undefined) claims.idp_sub = rare.idp_sub
    return claims
  }
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
 * Least recently used first out, in O(1): the entries form a list from the least to the most
 * recently used, linked through the entries themselves; a hit moves its entry to the newest end,
 * eviction takes from the oldest. The Map only finds entries by key and is never re-ordered: a
 * delete and set per hit grew its table to twice the entries and left a table of megabytes to
 * collect every hundred thousand hits or so. Unlike the two generations of
 * lib/oauth/bounded-cache.ts, whose guaranteed reach is half their size, the whole budget holds
 * the tokens in use: 100,000 tokens presented in turn within the budget are all hits (measured:
 * with two generations, every one was a miss).
 */
export class TokenCache<V extends CacheEntry> {
  private readonly entries = new Map<string, V>()
  private oldest: CacheEntry | undefined = undefined
  private newest: CacheEntry | undefined = undefined
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
    if (entry.expiresAtSeconds * 1000 <= now) {
      this.remove(entry)
      return undefined
    }
    if (entry !== this.newest) {
      this.unlink(entry)
      this.append(entry)
    }
    return entry
  }

  /** Holds `value` until it expires. */
  set (key: string, value: V): void {
    this.delete(key)
    const bytes = value.bytes
    // An entry larger than the budget would only evict everything else: it is not kept.
    if (bytes > this.maxBytes) return
    value.cacheKey = key
    this.entries.set(key, value)
    this.append(value)
    this.held += bytes
    while (this.held > this.maxBytes && this.oldest !== undefined) this.remove(this.oldest)
  }

  delete (key: string): void {
    const entry = this.entries.get(key)
    if (entry !== undefined) this.remove(entry)
  }

  private remove (entry: CacheEntry): void {
    this.entries.delete(entry.cacheKey)
    this.unlink(entry)
    this.held -= entry.bytes
  }

  private unlink (entry: CacheEntry): void {
    const { older, newer } = entry
    if (older === undefined) this.oldest = newer
    else older.newer = newer
    if (newer === undefined) this.newest = older
    else newer.older = older
    entry.older = undefined
    entry.newer = undefined
  }

  private append (entry: CacheEntry): void {
    entry.older = this.newest
    if (this.newest === undefined) this.oldest = entry
    else this.newest.newer = entry
    this.newest = entry
  }
}
