import { createHash } from 'node:crypto'
import { safeEqual } from '../crypto.js'

/** RFC 7636 §4.1: 43–128 characters of the unreserved set. Challenges (S256) are 43 of base64url. */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/

/** S256 is the only method: `plain` gives no protection once the request is seen. */
export const CODE_CHALLENGE_METHODS = ['S256'] as const

export function isValidChallenge (challenge: string): boolean {
  return CHALLENGE.test(challenge)
}

export function s256 (verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url')
}

/** Whether `verifier` is well-formed and hashes (S256) to `challenge`; constant time. */
export function verifyCodeVerifier (verifier: string | undefined, challenge: string): boolean {
  if (verifier === undefined || !VERIFIER.test(verifier)) return false
  return safeEqual(s256(verifier), challenge)
}
