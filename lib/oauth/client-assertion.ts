import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JSONWebKeySet } from 'jose'
import type { Application } from '../storage/models.js'
import { ASSERTION_ALGORITHMS, createKeySets, KeySetError, type KeySets, type RemoteKeyOptions } from '../net/key-sets.js'
import { OAuthError } from './errors.js'
import { CLOCK_TOLERANCE_MS } from '../jwt.js'
import { isBadText } from '../bad-text.js'

/*
 * `private_key_jwt` (RFC 7523 §2.2, RFC 7521 §4.2): a client proves itself with a JWT it signed
 * with a private key whose public half it registered (`jwks`) or publishes (`jwksUri`). Only
 * asymmetric algorithms: with `none` anyone could sign, and an HS* key would be a shared secret
 * this service would have to hold.
 */

// Where the key rules live (one rule for clients' and identity providers' key sets).
export { ASSERTION_ALGORITHMS, checkPublicKeySet, DEFAULT_REMOTE_KEY_OPTIONS, MAX_JWKS_BYTES, MAX_KEYS, publicKeySetProblem, type RemoteKeyOptions } from '../net/key-sets.js'

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
/** An assertion may be valid for at most this long from now: a stolen one is worth little. */
export const MAX_ASSERTION_LIFETIME_S = 300
/** The `used_values` kind under which assertion `jti`s are claimed. */
export const ASSERTION_USED_KIND = 'client_assertion'

/** Where a client's public keys are found; `refresh` asks for a fresh copy of a published set. */
export interface ClientKeys {
  keys: (client: Application, options: { refresh: boolean }) => Promise<JSONWebKeySet>
}

/**
 * A client's keys: the inline set as stored, or the published one, through the one cache of
 * other parties' key sets (lib/net/key-sets.ts); its refusals become `invalid_client`.
 */
export function createClientKeys (options: Partial<RemoteKeyOptions> | KeySets = {}): ClientKeys & { fetches: () => number } {
  const sets = 'keys' in options && typeof options.keys === 'function' ? options as KeySets : createKeySets(options as Partial<RemoteKeyOptions>)
  return {
    fetches: () => sets.fetches(),
    async keys (client, { refresh }) {
      try {
        return await sets.keys(client, { refresh })
      } catch (err) {
        if (err instanceof KeySetError) throw new OAuthError('invalid_client', `the client's ${err.message}`)
        throw err
      }
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
