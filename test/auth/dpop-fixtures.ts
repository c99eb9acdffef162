import { createHash, createSecretKey, randomUUID } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type KeyObject } from 'jose'

/** A client's DPoP key: signs proofs the way RFC 9449 §4.2 says, or the ways it forbids. */
export interface ProofKey {
  jwk: JWK
  jkt: string
  privateJwk: JWK
  proof: (claims: ProofClaims, header?: Record<string, unknown>) => Promise<string>
}

export interface ProofClaims {
  htm: string
  htu: string
  /** Seconds; now when absent. */
  iat?: number
  jti?: string
  /** The access token to hash into `ath`. */
  token?: string
  /** An `ath` as is (a wrong one). */
  ath?: string
}

export function ath (token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

export async function proofKey (alg: 'ES256' | 'RS256' | 'PS256' | 'EdDSA' = 'ES256'): Promise<ProofKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(publicKey)
  const privateJwk = await exportJWK(privateKey)
  const jkt = await calculateJwkThumbprint(jwk, 'sha256')
  return {
    jwk,
    jkt,
    privateJwk,
    proof: async (claims, header = {}) => await signProof(privateKey, { alg, typ: 'dpop+jwt', jwk, ...header }, claims)
  }
}

export async function signProof (key: CryptoKey | KeyObject | Uint8Array, header: Record<string, unknown>, claims: ProofClaims): Promise<string> {
  const payload: Record<string, unknown> = {
    htm: claims.htm,
    htu: claims.htu,
    iat: claims.iat ?? Math.floor(Date.now() / 1000),
    jti: claims.jti ?? randomUUID()
  }
  if (claims.token !== undefined) payload.ath = ath(claims.token)
  if (claims.ath !== undefined) payload.ath = claims.ath
  return await new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key)
}

/** An HS256 "proof": a shared secret proves nothing about who holds the token. */
export async function hmacProof (claims: ProofClaims, jwk: JWK): Promise<string> {
  return await signProof(createSecretKey(Buffer.alloc(32, 7)), { alg: 'HS256', typ: 'dpop+jwt', jwk }, claims)
}

/** An unsigned (`alg: none`) proof, made by hand since jose will not. */
export function unsignedProof (claims: ProofClaims, jwk: JWK): string {
  const enc = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')
  const payload = { htm: claims.htm, htu: claims.htu, iat: claims.iat ?? Math.floor(Date.now() / 1000), jti: claims.jti ?? randomUUID(), ...(claims.token === undefined ? {} : { ath: ath(claims.token) }) }
  // A signature part is added so that the algorithm, not the shape, is what gets it refused.
  return `${enc({ alg: 'none', typ: 'dpop+jwt', jwk })}.${enc(payload)}.c2ln`
}
