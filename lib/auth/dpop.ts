import { constants, createHash, createPublicKey, timingSafeEqual, verify as verifySignature, type JsonWebKey, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, importJWK, type JWK } from 'jose'
import { BoundedCache } from '../oauth/bounded-cache.js'

/**
 * Proof algorithms accepted (RFC 9449 §4.3, §11.6): asymmetric only; `none` and HS* never, since
 * a proof must show possession of a private key the token is bound to.
 */
export const DPOP_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const

/**
 * How far a proof's `iat` may be from now, in seconds, either way. Proofs are minted per request,
 * so a minute covers clock skew and slow networks while keeping the replay store small; the
 * `jti` store holds each proof's id this long past its `iat`.
 */
export const DPOP_IAT_WINDOW_S = 60

/** The `used_values` kind the proofs' `jti`s are claimed under (shared by every instance). */
export const DPOP_USED_KIND = 'dpop'

/** Header members that only a private (or symmetric) key has: such a `jwk` is refused. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

/** A compact JWS: three base64url parts (no spaces, no commas: two headers joined would have one). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/** A proof is small: a header with a public key and a handful of claims. RSA 4096 fits well. */
const MAX_PROOF_LENGTH = 4096

/** Imported public keys, by their JWK's JSON: a client signs many proofs with one key. */
const KEY_CACHE_MAX = 1000

/** What a proof must match. */
export interface DpopExpectation {
  /** The request's method (`htm`). */
  method: string
  /** The request's public URL without query or fragment (`htu`): `{base}` + path, never a header. */
  url: string
  /** The access token presented with the proof: `ath` must be its SHA-256 (RFC 9449 §4.3 step 11). */
  accessToken?: string
  /** The thumbprint the token is bound to (`cnf.jkt`): the proof's key must be that key. */
  jkt?: string
}

interface ProofKey { key: KeyObject, jkt: string }

/**
 * How each accepted algorithm is checked with node:crypto (RFC 7518 §3.3–3.5, RFC 8037): the
 * digest, and the signature shape. jose's verification goes through WebCrypto, asynchronously:
 * measured at about twice the CPU of this synchronous check, paid on every DPoP request.
 */
const VERIFY_PARAMS: Record<(typeof DPOP_ALGORITHMS)[number], { digest: string | null, options: { dsaEncoding?: 'ieee-p1363', padding?: number, saltLength?: number } }> = {
  ES256: { digest: 'sha256', options: { dsaEncoding: 'ieee-p1363' } },
  RS256: { digest: 'sha256', options: { padding: constants.RSA_PKCS1_PADDING } },
  PS256: { digest: 'sha256', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } },
  EdDSA: { digest: null, options: {} }
}

export type DpopCheck = { ok: true, jkt: string } | { ok: false, description: string }

export interface DpopVerifierDeps {
  /** Records a value once for every instance; false when it was already recorded (a replay). */
  claim: (kind: string, value: string, expiresAt: number) => Promise<boolean>
  /** Milliseconds since the epoch; `Date.now` when absent. */
  clock?: () => number
}

export interface DpopVerifier {
  /**
   * Checks the `DPoP` request header (RFC 9449 §4.3) against `expected`; on success the proof's
   * `jti` is used up, on every instance. `header` is the raw header value(s): anything but
   * exactly one proof is refused.
   */
  verify: (header: string | string[] | undefined, expected: DpopExpectation) => Promise<DpopCheck>
}

/**
 * RFC 9449 §7.1, the one place it is decided: a bound token (`cnf.jkt`) is accepted only under
 * the `DPoP` scheme, and the `DPoP` scheme only with a bound token. Undefined when the scheme
 * fits the token; else why not. A proof is still required for a bound token (`verify`).
 */
export function schemeMismatch (scheme: 'bearer' | 'dpop', boundTo: string | undefined): string | undefined {
  if (scheme === 'bearer' && boundTo !== undefined) return 'this token is DPoP-bound: present it with the DPoP scheme and a proof'
  if (scheme === 'dpop' && boundTo === undefined) return 'the DPoP scheme needs a DPoP-bound token; this one is a bearer token'
  return undefined
}

/** base64url(SHA-256(access token)): the proof's `ath` (RFC 9449 §4.2). */
export function accessTokenHash (token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

/** `origin + path` of an absolute http(s) URL, normalised (case, default port, dot segments); undefined when it is not one. */
function comparableUrl (url: string): string | undefined {
  if (!URL.canParse(url)) return undefined
  const parsed = new URL(url)
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined
  return `${parsed.origin}${parsed.pathname}`
}

function sameString (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function decodePart (part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

function fail (description: string): DpopCheck {
  return { ok: false, description }
}

/** The one place a DPoP proof is judged, for the token endpoint and the protected resources alike. */
export function createDpopVerifier ({ claim, clock = Date.now }: DpopVerifierDeps): DpopVerifier {
  const keys = new BoundedCache<string, ProofKey>(KEY_CACHE_MAX)
  const expectedUrls = new BoundedCache<string, string | undefined>(64)

  /** The imported key and its thumbprint, once per key: a client signs many proofs with one. */
  async function publicKey (jwk: JWK, alg: string): Promise<ProofKey | undefined> {
    const cacheKey = `${alg} ${JSON.stringify(jwk)}`
    const hit = keys.get(cacheKey)
    if (hit !== undefined) return hit
    try {
      // jose judges the key against the algorithm (curve, RSA size, `use`, `key_ops`); the key
      // object node:crypto verifies with is made from the same JWK.
      await importJWK(jwk, alg)
      const entry = { key: createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }), jkt: await calculateJwkThumbprint(jwk, 'sha256') }
      if (entry.key.type !== 'public') return undefined
      keys.set(cacheKey, entry)
      return entry
    } catch {
      return undefined
    }
  }

  async function verify (header: string | string[] | undefined, expected: DpopExpectation): Promise<DpopCheck> {
    if (header === undefined || header === '') return fail('a DPoP proof is required')
    if (Array.isArray(header) || header.includes(',')) return fail('exactly one DPoP proof is allowed')
    const proof = header.trim()
    if (proof.length > MAX_PROOF_LENGTH || !COMPACT_JWS.test(proof)) return fail('the DPoP proof is not a compact JWS')
    const [headerPart, payloadPart] = proof.split('.')
    const protectedHeader = decodePart(headerPart)
    if (protectedHeader === undefined) return fail('the DPoP proof header is malformed')
    const { typ, alg, jwk, crit } = protectedHeader
    if (typ !== 'dpop+jwt') return fail('the DPoP proof must have typ "dpop+jwt"')
    if (typeof alg !== 'string' || !(DPOP_ALGORITHMS as readonly string[]).includes(alg)) {
      return fail(`the DPoP proof algorithm must be one of ${DPOP_ALGORITHMS.join(', ')}`)
    }
    if (crit !== undefined) return fail('the DPoP proof has critical headers this service does not understand')
    if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) return fail('the DPoP proof must carry its public key in the jwk header')
    if (PRIVATE_MEMBERS.some(m => Object.hasOwn(jwk, m))) return fail('the DPoP proof jwk must be a public key')
    const imported = await publicKey(jwk as JWK, alg)
    if (imported === undefined) return fail('the DPoP proof jwk is not a usable public key for its algorithm')
    const dot = proof.lastIndexOf('.')
    const { digest, options } = VERIFY_PARAMS[alg as (typeof DPOP_ALGORITHMS)[number]]
    let valid = false
    try {
      valid = verifySignature(digest, Buffer.from(proof.slice(0, dot)), { key: imported.key, ...options }, Buffer.from(proof.slice(dot + 1), 'base64url'))
    } catch {
      valid = false
    }
    if (!valid) return fail('the DPoP proof signature does not verify with its jwk')

    const claims = decodePart(payloadPart)
    if (claims === undefined) return fail('the DPoP proof claims are malformed')
    const { htm, htu, iat, jti, ath } = claims
    if (typeof jti !== 'string' || jti === '' || jti.length > 256) return fail('the DPoP proof must have a jti')
    if (htm !== expected.method) return fail('the DPoP proof htm does not match the request method')
    let want = expectedUrls.get(expected.url)
    if (want === undefined) {
      want = comparableUrl(expected.url)
      expectedUrls.set(expected.url, want)
    }
    if (typeof htu !== 'string' || want === undefined || comparableUrl(htu) !== want) return fail('the DPoP proof htu does not match the request URL')
    if (typeof iat !== 'number' || !Number.isFinite(iat)) return fail('the DPoP proof must have a numeric iat')
    const now = clock()
    if (iat * 1000 < now - DPOP_IAT_WINDOW_S * 1000) return fail('the DPoP proof is too old')
    if (iat * 1000 > now + DPOP_IAT_WINDOW_S * 1000) return fail('the DPoP proof is issued in the future')
    if (expected.accessToken !== undefined) {
      if (typeof ath !== 'string' || !sameString(ath, accessTokenHash(expected.accessToken))) {
        return fail('the DPoP proof ath does not match the access token')
      }
    }
    const { jkt } = imported
    if (expected.jkt !== undefined && !sameString(jkt, expected.jkt)) return fail('the DPoP proof key is not the key the token is bound to')
    // Last: a refused proof does not use up its jti. Keyed by the key too, so that one client
    // cannot burn another's identifiers.
    if (!await claim(DPOP_USED_KIND, `${jkt}:${jti}`, (iat + DPOP_IAT_WINDOW_S) * 1000 + 1000)) {
      return fail('the DPoP proof has already been used')
    }
    return { ok: true, jkt }
  }

  return { verify }
}
