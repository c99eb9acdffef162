import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, importJWK, jwtVerify, type JWK, type JSONWebKeySet } from 'jose'
import type { Application } from '../storage/models.js'
import { boundedLifetime, DEFAULT_FETCH_POLICY, fetchJson, FetchError, type FetchPolicy } from '../net/fetch.js'
import { BoundedCache } from './bounded-cache.js'
import { OAuthError } from './errors.js'
import { CLOCK_TOLERANCE_MS } from '../jwt.js'
import { isBadText } from '../bad-text.js'

/*
 * `private_key_jwt` (RFC 7523 §2.2, RFC 7521 §4.2): a client proves itself with a JWT it signed
 * with a private key whose public half it registered (`jwks`) or publishes (`jwksUri`). Only
 * asymmetric algorithms: with `none` anyone could sign, and an HS* key would be a shared secret
 * this service would have to hold.
 */

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
export const ASSERTION_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const
/** An assertion may be valid for at most this long from now: a stolen one is worth little. */
export const MAX_ASSERTION_LIFETIME_S = 300
/** The `used_values` kind under which assertion `jti`s are claimed. */
export const ASSERTION_USED_KIND = 'client_assertion'

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

/** Where a client's public keys are found; `refresh` asks for a fresh copy of a published set. */
export interface ClientKeys {
  keys: (client: Application, options: { refresh: boolean }) => Promise<JSONWebKeySet>
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

/**
 * A client's keys: the inline set as stored, or the published one, fetched through the one
 * SSRF-safe fetcher and cached. Returns the set and whether it was just fetched.
 */
export function createClientKeys (options: Partial<RemoteKeyOptions> = {}): ClientKeys & { fetches: () => number } {
  const o = { ...DEFAULT_REMOTE_KEY_OPTIONS, ...options }
  const cache = new BoundedCache<string, Held>(o.maxEntries)
  // A failed fetch is remembered for the refetch interval: assertions naming a set that cannot
  // be had do not make us fetch it again and again.
  const failures = new BoundedCache<string, OAuthError>(o.maxEntries)
  const inFlight = new Map<string, Promise<Held>>()
  let fetches = 0

  function failed (uri: string, error: OAuthError): OAuthError {
    failures.set(uri, error, o.now() + o.refetchIntervalMs)
    return error
  }

  async function fetchSet (uri: string): Promise<Held> {
    fetches++
    let fetched
    try {
      fetched = await fetchJson(uri, o.fetchPolicy)
    } catch (err) {
      if (err instanceof FetchError) throw failed(uri, new OAuthError('invalid_client', `the client's jwks_uri could not be used: ${err.message}`))
      throw err
    }
    const problem = publicKeySetProblem(fetched.body)
    if (problem !== undefined) throw failed(uri, new OAuthError('invalid_client', `the client's jwks_uri does not hold a usable key set: ${problem}`))
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
    async keys (client, { refresh }) {
      if (client.jwks !== null) {
        // Stored sets were checked when stored; checked again, as what is stored is not ours to trust blindly.
        const problem = publicKeySetProblem(client.jwks)
        if (problem !== undefined) throw new OAuthError('invalid_client', `the client's registered key set is not usable: ${problem}`)
        return client.jwks as JSONWebKeySet
      }
      if (client.jwksUri === null) throw new OAuthError('invalid_client', 'the client has no keys registered (jwks or jwksUri)')
      const uri = client.jwksUri
      const now = o.now()
      const held = cache.get(uri, now)
      if (held === undefined) return (await fetchOnce(uri)).jwks
      if (refresh && now - held.fetchedAt >= o.refetchIntervalMs) return (await fetchOnce(uri)).jwks
      return held.jwks
    }
  }
}

export interface AssertionServices {
  keys: ClientKeys['keys']
  /** Claims a one-time value across instances: false when it was claimed before (a replay). */
  claim: (kind: string, value: string, expiresAt: number) => Promise<boolean>
  now?: () => number
}

/** Who may be named as the audience: the issuer, the token endpoint, the endpoint called. */
export interface AssertionAudience {
  issuer: string
  audiences: readonly string[]
}

/**
 * The client id an assertion names, read without verifying it: which client's keys to verify
 * with, and the rate limits' key. Undefined when it names none.
 */
export function assertionIssuer (assertion: string): string | undefined {
  try {
    const iss = decodeJwt(assertion).iss
    return typeof iss === 'string' && iss !== '' ? iss : undefined
  } catch {
    return undefined
  }
}

function refuse (description: string): OAuthError {
  return new OAuthError('invalid_client', description)
}

/** The description of why jose refused an assertion; never echoes the assertion. */
function joseProblem (err: unknown): string | undefined {
  if (err instanceof errors.JWTExpired) return 'the client assertion has expired'
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'the client assertion is for another audience (aud must be the issuer or the token endpoint URL)'
    if (err.claim === 'iss' || err.claim === 'sub') return 'the client assertion\'s iss and sub must both be the client id'
    if (err.claim === 'nbf') return 'the client assertion is not valid yet (nbf)'
    if (err.claim === 'iat') return 'the client assertion\'s iat is not valid'
    return `the client assertion lacks or has an invalid "${err.claim}" claim`
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return `the client assertion's algorithm is not allowed (allowed: ${ASSERTION_ALGORITHMS.join(', ')})`
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the client assertion\'s signature does not verify with the client\'s keys'
  if (err instanceof errors.JWKSMultipleMatchingKeys) return 'the client assertion names no kid and the client has several keys'
  if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid) return 'the client assertion is not a well-formed signed JWT'
  if (err instanceof errors.JOSENotSupported) return 'the client assertion uses an algorithm or key the client\'s keys do not support'
  return undefined
}

/**
 * Verifies a client assertion and returns the client it authenticates. `expectedClientId` is the
 * body's `client_id` when one was sent (it must then be the assertion's `iss` and `sub`). Every
 * refusal is `invalid_client` with a description that names the problem.
 */
export async function verifyClientAssertion (
  services: AssertionServices,
  lookup: (clientId: string) => Promise<Application | undefined>,
  assertion: string,
  expectedClientId: string | undefined,
  audience: AssertionAudience
): Promise<Application> {
  let alg: unknown
  try {
    alg = decodeProtectedHeader(assertion).alg
  } catch {
    throw refuse('the client assertion is not a well-formed signed JWT')
  }
  if (!(ASSERTION_ALGORITHMS as readonly unknown[]).includes(alg)) {
    throw refuse(`the client assertion's algorithm ${JSON.stringify(alg)} is not allowed (allowed: ${ASSERTION_ALGORITHMS.join(', ')})`)
  }
  const issuer = assertionIssuer(assertion)
  if (issuer === undefined) throw refuse('the client assertion has no iss (the client id)')
  // Decoded JSON may hold text no engine stores (U+0000): no client id or jti is such text.
  if (isBadText(issuer)) throw refuse('client authentication failed')
  if (expectedClientId !== undefined && expectedClientId !== issuer) throw refuse('the client assertion\'s iss is not the client_id sent')
  const client = await lookup(issuer)
  if (client === undefined || client.isDisabled) throw refuse('client authentication failed')
  if (client.tokenEndpointAuthMethod !== 'private_key_jwt') throw refuse('this client does not authenticate with private_key_jwt')

  const now = (services.now ?? Date.now)()
  const verifyWith = async (refresh: boolean) => {
    const jwks = await services.keys(client, { refresh })
    return await jwtVerify(assertion, createLocalJWKSet(jwks), {
      algorithms: [...ASSERTION_ALGORITHMS],
      issuer: client.clientId,
      subject: client.clientId,
      audience: [...audience.audiences],
      clockTolerance: CLOCK_TOLERANCE_MS / 1000,
      currentDate: new Date(now),
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti']
    })
  }
  let payload
  try {
    try {
      payload = (await verifyWith(false)).payload
    } catch (err) {
      // A key the cached set lacks may be a rotation: fetch again (at a bounded rate) and retry.
      if (!(err instanceof errors.JWKSNoMatchingKey) || client.jwksUri === null) throw err
      payload = (await verifyWith(true)).payload
    }
  } catch (err) {
    if (err instanceof OAuthError) throw err
    if (err instanceof errors.JWKSNoMatchingKey) throw refuse('no key of the client matches the client assertion (kid and algorithm)')
    const problem = joseProblem(err)
    if (problem !== undefined) throw refuse(problem)
    throw err
  }
  const exp = payload.exp as number
  if (exp * 1000 > now + MAX_ASSERTION_LIFETIME_S * 1000 + CLOCK_TOLERANCE_MS) {
    throw refuse(`the client assertion expires too far ahead (at most ${MAX_ASSERTION_LIFETIME_S} seconds)`)
  }
  if (payload.iat !== undefined && payload.iat * 1000 > now + CLOCK_TOLERANCE_MS) throw refuse('the client assertion\'s iat is in the future')
  const jti = payload.jti
  if (typeof jti !== 'string' || jti === '' || jti.length > 256 || isBadText(jti)) throw refuse('the client assertion needs a jti (a unique id, at most 256 characters)')
  // Kept until it would have expired anyway (plus the tolerance): a replay after that is refused as expired.
  if (!await services.claim(ASSERTION_USED_KIND, `${client.clientId}\n${jti}`, exp * 1000 + CLOCK_TOLERANCE_MS)) {
    throw refuse('the client assertion was already used (jti replayed)')
  }
  return client
}
