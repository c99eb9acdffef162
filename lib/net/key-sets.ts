import { importJWK, type JWK, type JSONWebKeySet } from 'jose'
import { boundedLifetime, DEFAULT_FETCH_POLICY, fetchJson, FetchError, type FetchPolicy } from './fetch.js'
import { BoundedCache } from '../oauth/bounded-cache.js'

/*
 * Public keys of parties this service does not hold the keys of: clients (private_key_jwt) and
 * enterprise identity providers (ID-JAGs). One rule for what a usable key set is, one cache.
 */

/** Asymmetric algorithms only: with `none` anyone could sign, and an HS* key would be a shared secret. */
export const ASSERTION_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const

/** Members a public JWK never has (RFC 7518 §6: the private parts of RSA, EC and OKP keys; `k` of `oct`). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const
const KEY_TYPES = new Set(['RSA', 'EC', 'OKP'])
/** A JWK Set a client registers or publishes: a handful of keys, not a database. */
export const MAX_KEYS = 10
export const MAX_JWKS_BYTES = 16 * 1024

/** Why a JWK Set cannot be used for `private_key_jwt`, or undefined when it can. */
export function publicKeySetProblem (jwks: unknown): string | undefined {
  if (jwks === null || typeof jwks !== 'object' || Array.isArray(jwks)) return 'a JWK Set is an object with "keys"'
  const keys = (jwks as { keys?: unknown }).keys
  if (!Array.isArray(keys) || keys.length === 0) return 'a JWK Set needs a non-empty "keys" array'
  if (keys.length > MAX_KEYS) return `a JWK Set holds at most ${MAX_KEYS} keys`
  if (Buffer.byteLength(JSON.stringify(jwks)) > MAX_JWKS_BYTES) return `a JWK Set is at most ${MAX_JWKS_BYTES} bytes`
  for (const [i, key] of keys.entries()) {
    if (key === null || typeof key !== 'object' || Array.isArray(key)) return `key ${i} is not a JWK object`
    const jwk = key as Record<string, unknown>
    if (jwk.kty === 'oct') return `key ${i} is a symmetric ("oct") key; only public asymmetric keys (RSA, EC, OKP) are accepted`
    if (typeof jwk.kty !== 'string' || !KEY_TYPES.has(jwk.kty)) return `key ${i} has kty ${JSON.stringify(jwk.kty)}; only RSA, EC and OKP keys are accepted`
    const secret = PRIVATE_MEMBERS.find(m => m in jwk)
    if (secret !== undefined) return `key ${i} holds private key material ("${secret}"); register the public key only`
    if (jwk.alg !== undefined && !(ASSERTION_ALGORITHMS as readonly unknown[]).includes(jwk.alg)) return `key ${i} has alg ${JSON.stringify(jwk.alg)}; allowed: ${ASSERTION_ALGORITHMS.join(', ')}`
    if (jwk.use !== undefined && jwk.use !== 'sig') return `key ${i} has use ${JSON.stringify(jwk.use)}; signing keys have use "sig"`
  }
  return undefined
}

/** `publicKeySetProblem`, and every key importable (a well-formed key of its type). */
export async function checkPublicKeySet (jwks: unknown): Promise<string | undefined> {
  const problem = publicKeySetProblem(jwks)
  if (problem !== undefined) return problem
  for (const [i, key] of (jwks as { keys: JWK[] }).keys.entries()) {
    const alg = key.alg ?? (key.kty === 'RSA' ? 'RS256' : key.kty === 'EC' ? 'ES256' : 'EdDSA')
    try {
      await importJWK(key, alg)
    } catch (err) {
      return `key ${i} cannot be imported: ${(err as Error).message}`
    }
  }
  return undefined
}

export interface RemoteKeyOptions {
  fetchPolicy: FetchPolicy
  /** A fetched set is kept as its caching headers say, within these bounds. */
  minTtlMs: number
  maxTtlMs: number
  /** An unknown `kid` fetches the set again at most this often per set: no amplification. */
  refetchIntervalMs: number
  maxEntries: number
  now: () => number
}

export const DEFAULT_REMOTE_KEY_OPTIONS: RemoteKeyOptions = {
  fetchPolicy: { ...DEFAULT_FETCH_POLICY },
  minTtlMs: 60_000,
  maxTtlMs: 86_400_000,
  refetchIntervalMs: 30_000,
  maxEntries: 1000,
  now: Date.now
}

interface Held { jwks: JSONWebKeySet, fetchedAt: number }

/** Whose keys: an inline set, or the URL of a published one (clients and identity providers alike). */
export interface KeyHolder {
  jwks: { keys: Array<Record<string, unknown>> } | null
  jwksUri: string | null
}

export interface KeySets {
  /** The holder's key set; `refresh` asks for a fresh copy of a published set (at a bounded rate). */
  keys: (holder: KeyHolder, options: { refresh: boolean }) => Promise<JSONWebKeySet>
  /** How many fetches were made (tests). */
  fetches: () => number
}

/** Why a holder's keys cannot be had; the message, prefixed by whose keys, is safe to return. */
export class KeySetError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'KeySetError'
  }
}

/**
 * Other parties' public keys (clients' for private_key_jwt, identity providers' for ID-JAGs): the
 * inline set as stored, or the published one, fetched through the one SSRF-safe fetcher, kept as
 * its caching headers say within bounds, refetched for an unknown `kid` at most every
 * `refetchIntervalMs`, and a failure remembered as long.
 */
export function createKeySets (options: Partial<RemoteKeyOptions> = {}): KeySets {
  const o = { ...DEFAULT_REMOTE_KEY_OPTIONS, ...options }
  const cache = new BoundedCache<string, Held>(o.maxEntries)
  // A failed fetch is remembered for the refetch interval: assertions naming a set that cannot
  // be had do not make us fetch it again and again.
  const failures = new BoundedCache<string, KeySetError>(o.maxEntries)
  const inFlight = new Map<string, Promise<Held>>()
  let fetches = 0

  function failed (uri: string, error: KeySetError): KeySetError {
    failures.set(uri, error, o.now() + o.refetchIntervalMs)
    return error
  }

  async function fetchSet (uri: string): Promise<Held> {
    fetches++
    let fetched
    try {
      fetched = await fetchJson(uri, o.fetchPolicy)
    } catch (err) {
      if (err instanceof FetchError) throw failed(uri, new KeySetError(`jwks_uri could not be used: ${err.message}`))
      throw err
    }
    const problem = publicKeySetProblem(fetched.body)
    if (problem !== undefined) throw failed(uri, new KeySetError(`jwks_uri does not hold a usable key set: ${problem}`))
    const now = o.now()
    const held = { jwks: fetched.body as JSONWebKeySet, fetchedAt: now }
    cache.set(uri, held, now + boundedLifetime(fetched.freshForMs, o.minTtlMs, o.maxTtlMs))
    return held
  }

  function fetchOnce (uri: string): Promise<Held> {
    const failure = failures.get(uri, o.now())
    if (failure !== undefined) return Promise.reject(failure)
    let pending = inFlight.get(uri)
    if (pending === undefined) {
      pending = fetchSet(uri).finally(() => inFlight.delete(uri))
      inFlight.set(uri, pending)
    }
    return pending
  }

  return {
    fetches: () => fetches,
    async keys (holder, { refresh }) {
      if (holder.jwks !== null) {
        // Stored sets were checked when stored; checked again, as what is stored is not ours to trust blindly.
        const problem = publicKeySetProblem(holder.jwks)
        if (problem !== undefined) throw new KeySetError(`registered key set is not usable: ${problem}`)
        return holder.jwks as JSONWebKeySet
      }
      if (holder.jwksUri === null) throw new KeySetError('keys are not registered (jwks or jwksUri)')
      const uri = holder.jwksUri
      const now = o.now()
      const held = cache.get(uri, now)
      if (held === undefined) return (await fetchOnce(uri)).jwks
      if (refresh && now - held.fetchedAt >= o.refetchIntervalMs) return (await fetchOnce(uri)).jwks
      return held.jwks
    }
  }
}
