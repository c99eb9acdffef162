import { randomToken, safeEqual, secretDigest } from '../crypto.js'
import type { Store } from '../storage/store.js'

/**
 * A validated authorization request, as the login and consent forms carry it between the
 * steps: sealed with a MAC so that a person can narrow what it asks (unticking scopes) but no
 * one can widen it, and with an expiry so an abandoned page cannot be replayed later.
 */
export interface AuthorizationRequest {
  clientId: string
  redirectUri: string
  /** Expanded and allowed for this client: what the consent page shows. */
  scopes: string[]
  state?: string
  nonce?: string
  codeChallenge: string
  /** The audience its tokens get: the normalised `resource`, or `{base}`. */
  resource: string
  /** `prompt=consent`: ask even when an earlier consent covers the scopes. */
  forceConsent: boolean
  /** Milliseconds since the epoch. */
  expiresAt: number
}

/** How long a login or consent page stays usable. */
export const REQUEST_LIFETIME_MS = 15 * 60_000

export function sealRequest (secret: string, request: AuthorizationRequest): string {
  const payload = Buffer.from(JSON.stringify(request)).toString('base64url')
  return `${payload}.${secretDigest(secret, `authorization-request|${payload}`)}`
}

export function openRequest (secret: string, sealed: unknown, now = Date.now()): AuthorizationRequest | undefined {
  if (typeof sealed !== 'string' || sealed.length > 8192) return undefined
  const dot = sealed.indexOf('.')
  if (dot < 0) return undefined
  const payload = sealed.slice(0, dot)
  if (!safeEqual(secretDigest(secret, `authorization-request|${payload}`), sealed.slice(dot + 1))) return undefined
  try {
    const request = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as AuthorizationRequest
    return request.expiresAt > now ? request : undefined
  } catch {
    return undefined
  }
}

/** `redirectUri` with the response parameters added (RFC 6749 §4.1.2, RFC 9207 `iss`). */
export function redirectWith (redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri)
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value)
  return url.toString()
}

/** Where a page's form may send the browser on: the redirect URI's origin. */
export function redirectOrigin (redirectUri: string): string {
  return new URL(redirectUri).origin
}

/**
 * Issues a one-time authorization code: only its keyed digest is stored, so a database
 * reader cannot redeem it; it expires after AUTHORIZATION_CODE_TTL seconds.
 */
export async function issueCode (store: Store, request: AuthorizationRequest, grant: { userId: string, sessionId: string, scopes: string[], ttlSeconds: number }): Promise<string> {
  const code = randomToken(32)
  await store.codes.insert({
    id: store.digest(code),
    clientId: request.clientId,
    userId: grant.userId,
    sessionId: grant.sessionId,
    redirectUri: request.redirectUri,
    scope: grant.scopes.join(' '),
    resource: request.resource,
    codeChallenge: request.codeChallenge,
    nonce: request.nonce ?? null,
    expiresAt: Date.now() + grant.ttlSeconds * 1000
  })
  return code
}

/** Whether an earlier consent covers every scope asked (then the consent page is skipped). */
export function consentCovers (consented: readonly string[], wanted: readonly string[]): boolean {
  const have = new Set(consented)
  return wanted.every(s => have.has(s))
}
