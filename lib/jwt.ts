import { createSigner, TokenError, type Algorithm, type VerifierOptions } from 'fast-jwt'

/** The only signature algorithm this service issues or accepts. */
export const JWT_ALGORITHM: Algorithm = 'RS256'
/** RFC 9068 `typ` of access tokens: an ID token can never pass as an access token. */
export const ACCESS_TOKEN_TYP = 'at+jwt'
/** Allowed clock difference for `exp`, `nbf` and `iat`, in milliseconds. */
export const CLOCK_TOLERANCE_MS = 30_000

/** The claims of an access token this service signs. */
export interface AccessTokenClaims {
  iss: string
  sub: string
  aud: string | string[]
  exp: number
  iat: number
  nbf?: number
  jti: string
  scope: string
  client_id: string
  /** Whether `sub` is a user or an application (client credentials). */
  sub_kind: 'user' | 'application'
  /** The session the token was issued through, if any: ending it ends the token. */
  sid?: string
  /** RFC 9449 §6.1: the DPoP key the token is bound to (its RFC 7638 thumbprint). */
  cnf?: { jkt: string }
  /** The identity provider whose assertion (ID-JAG) bought the token, and the user's subject there. */
  idp?: string
  idp_sub?: string
}

export interface JwtHeader {
  alg?: unknown
  kid?: unknown
  typ?: unknown
  crit?: unknown
}

/** Parses a compact JWS header without verifying anything; undefined when it is not one. */
export function decodeJwtHeader (token: string): JwtHeader | undefined {
  const dot = token.indexOf('.')
  if (dot <= 0 || token.indexOf('.', dot + 1) < 0) return undefined
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8')) as unknown
    return header !== null && typeof header === 'object' && !Array.isArray(header) ? header as JwtHeader : undefined
  } catch {
    return undefined
  }
}

export type SignJwt = (payload: Record<string, unknown>) => string

/**
 * Signs with one private key, naming its `kid`; `typ` says what the token is. Built once per
 * key: @fastify/jwt would build a signer, and so parse the private key, for every token.
 */
export function createKeySigner (privatePem: string, kid: string, typ: string): SignJwt {
  return createSigner({ key: privatePem, algorithm: JWT_ALGORITHM, kid, header: { alg: JWT_ALGORITHM, typ } }) as SignJwt
}

/**
 * How @fastify/jwt verifies an access token: signature, algorithm (RS256 only: no `none`, no
 * HS/RS confusion), `typ`, `exp` and `nbf`, required claims. The key is looked up by the
 * token's `kid`. Issuer and audience depend on the request's public origin and are checked by
 * the caller; fast-jwt's own cache is off because callers cache whole results.
 */
export const ACCESS_TOKEN_VERIFY_OPTIONS: Pick<VerifierOptions, 'algorithms' | 'clockTolerance' | 'requiredClaims' | 'checkTyp' | 'cache'> = {
  algorithms: [JWT_ALGORITHM],
  clockTolerance: CLOCK_TOLERANCE_MS,
  requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'],
  checkTyp: ACCESS_TOKEN_TYP,
  cache: false
}

/** Thrown by a key lookup for a `kid` this service does not hold (or no longer does). */
export class UnknownSigningKeyError extends Error {
  constructor () {
    super('the token was not signed by this service')
  }
}

/**
 * What the key lookup threw, when that is why verification failed (fast-jwt wraps it). Anything
 * but an unknown key is the key store failing, not the token: callers rethrow it.
 */
export function keyLookupError (err: unknown): unknown {
  if (err instanceof TokenError && err.code === TokenError.codes.keyFetchingError) return (err as TokenError & { originalError?: unknown }).originalError
  return undefined
}

/** A short reason for a verification failure, safe to put in `error_description`. */
export function describeJwtError (err: unknown): string {
  if (err instanceof TokenError) {
    switch (err.code) {
      case TokenError.codes.expired: return 'the token has expired'
      case TokenError.codes.inactive: return 'the token is not valid yet'
      case TokenError.codes.invalidSignature: return 'the token signature is invalid'
      case TokenError.codes.invalidAlgorithm: return 'the token algorithm is not accepted'
      case TokenError.codes.invalidType: return 'the token is not an access token'
      case TokenError.codes.missingRequiredClaim: return 'the token lacks a required claim'
      case TokenError.codes.keyFetchingError:
        return keyLookupError(err) instanceof UnknownSigningKeyError ? 'the token was not signed by this service' : 'the token is malformed'
      default: return 'the token is malformed'
    }
  }
  return 'the token is malformed'
}

/** Whether a JSON value is an audience claim that names one of `accepted`. */
export function audienceMatches (aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === 'string') return accepted.includes(aud)
  if (Array.isArray(aud)) return aud.some(a => typeof a === 'string' && accepted.includes(a))
  return false
}
