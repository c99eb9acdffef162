import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'
import { boundedLifetime, fetchJson, FetchError, type FetchPolicy } from './fetch.js'
import { publicKeySetProblem } from '../oauth/client-assertion.js'

export { ASSERTION_ALGORITHMS } from '../oauth/client-assertion.js'

/** Bounds on how long a fetched key set is reused, whatever its caching headers say. */
const MIN_KEYS_MS = 60_000
const MAX_KEYS_MS = 86_400_000
/** An unknown `kid` refetches the set (a rotation), but not more often than this per URL. */
const REFETCH_INTERVAL_MS = 30_000
/** Key sets kept (URLs); the oldest is dropped past it. */
const MAX_SETS = 1000

interface CachedSet {
  getKey: JWTVerifyGetKey
  fetchedAt: number
  freshUntil: number
}

/** Why no key could be had for an assertion: the message is safe to return to the client. */
export class KeySetError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'KeySetError'
  }
}

/** The set, when it holds only usable public asymmetric keys (the rule clients' key sets follow too). */
function publicKeysOnly (body: unknown): JSONWebKeySet {
  const problem = publicKeySetProblem(body)
  if (problem !== undefined) throw new KeySetError(`the key set is not usable: ${problem}`)
  return body as JSONWebKeySet
}

/**
 * Identity providers' public keys, inline or at a URL, for jose's
 * `jwtVerify`. Fetched sets go through the SSRF-safe fetcher, are kept as their caching headers
 * say within [1 min, 1 day], and an unknown `kid` refetches at most every 30 s per URL: a
 * rotation is picked up at once, and a flood of made-up `kid`s costs the remote host nothing.
 */
export class KeySets {
  readonly #sets = new Map<string, CachedSet>()
  readonly #inflight = new Map<string, Promise<CachedSet>>()

  constructor (private readonly policy: () => FetchPolicy, private readonly clock: () => number = Date.now) {}

  /** A key resolver over an inline JWK Set. */
  inline (jwks: { keys: Array<Record<string, unknown>> }): JWTVerifyGetKey {
    return createLocalJWKSet(publicKeysOnly(jwks))
  }

  /** A key resolver over the set published at `url`. */
  remote (url: string): JWTVerifyGetKey {
    return async (header, token) => {
      let set = await this.#current(url)
      try {
        return await set.getKey(header, token)
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey) || this.clock() - set.fetchedAt < REFETCH_INTERVAL_MS) throw err
        set = await this.#fetch(url)
        return await set.getKey(header, token)
      }
    }
  }

  async #current (url: string): Promise<CachedSet> {
    const cached = this.#sets.get(url)
    if (cached !== undefined && cached.freshUntil > this.clock()) return cached
    return await this.#fetch(url)
  }

  async #fetch (url: string): Promise<CachedSet> {
    const running = this.#inflight.get(url)
    if (running !== undefined) return await running
    const work = (async () => {
      try {
        const { body, freshForMs } = await fetchJson(url, this.policy())
        const now = this.clock()
        const set: CachedSet = { getKey: createLocalJWKSet(publicKeysOnly(body)), fetchedAt: now, freshUntil: now + boundedLifetime(freshForMs, MIN_KEYS_MS, MAX_KEYS_MS) }
        this.#sets.delete(url)
        this.#sets.set(url, set)
        if (this.#sets.size > MAX_SETS) this.#sets.delete(this.#sets.keys().next().value as string)
        return set
      } catch (err) {
        if (err instanceof FetchError) throw new KeySetError(`the key set at ${url} could not be fetched: ${err.message}`)
        throw err
      } finally {
        this.#inflight.delete(url)
      }
    })()
    this.#inflight.set(url, work)
    return await work
  }
}
