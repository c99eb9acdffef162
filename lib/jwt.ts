import { createSigner, createVerifier, TokenError } from 'fast-jwt'

/** The only signature algorithm this service issues or accepts. */
export const JWT_ALGORITHM = 'RS256'
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
export type VerifyJwt = (token: string) => Record<string, unknown>

/** Signs with one private key, naming its `kid`; `typ` says what the token is. */
export function createKeySigner (privatePem: string, kid: string, typ: string): SignJwt {
  return createSigner({ key: privatePem, algorithm: JWT_ALGORITHM, kid, header: { alg: JWT_ALGORITHM, typ } }) as SignJwt
}

/**
 * Verifies signature, algorithm (RS256 only: no `none`, no HS/RS confusion), `typ`, `exp` and
 * `nbf` against one public key. Issuer and audience depend on the request's public origin and
 * are checked by the caller; fast-jwt's own cache is off because callers cache whole results.
 */
export function createKeyVerifier (publicPem: string, typ: string | undefined): VerifyJwt {
  return createVerifier({
    key: publicPem,
    algorithms: [JWT_ALGORITHM],
    clockTolerance: CLOCK_TOLERANCE_MS,
    requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'],
    ...(typ === undefined ? {} : { checkTyp: typ }),
    cache: false
  }) as VerifyJwt
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
