import type { Session, User } from './storage/models.js'
import type { Store } from './storage/store.js'

/** The session cookie's name. */
export const SESSION_COOKIE = 'iam_session'

export interface SessionCookieOptions {
  path: string
  httpOnly: boolean
  sameSite: 'lax'
  secure: boolean
  signed: boolean
  maxAge?: number
}

/**
 * The session cookie's attributes: signed, HttpOnly, SameSite=Lax, Secure when the public base
 * is https. `maxAgeSeconds` when setting it; clearing it takes the same attributes without.
 */
export function sessionCookieOptions (secure: boolean, maxAgeSeconds?: number): SessionCookieOptions {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure,
    signed: true,
    ...(maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds })
  }
}

/** Who a session is opened for, and from where (kept with it, shown in session listings). */
export interface SessionOrigin {
  user: User
  userAgent: string
  ip: string
}

/**
 * Opens and stores a session for a user who has just proved who they are: stored so that
 * logging out holds on every instance. The cookie is to carry `cookieValue`, the random value;
 * the database holds only its digest (the session id), and this is the only time it is seen.
 */
export async function openSession (sessions: Pick<Store['sessions'], 'create'>, ttlSeconds: number, origin: SessionOrigin): Promise<{ session: Session, cookieValue: string }> {
  const { cookieValue, ...session } = await sessions.create({
    userId: origin.user.id,
    userAgent: origin.userAgent,
    ip: origin.ip,
    ttlSeconds
  })
  return { session, cookieValue }
}

/** What checks a signed cookie's signature (a request under @fastify/cookie has this shape). */
export interface CookieSigner {
  unsignCookie: (raw: string) => { valid: boolean, value: string | null }
}

/**
 * The id of the session a raw (signed) cookie value opens, the digest of its value: `undefined`
 * when there is no cookie, `false` when its signature is not ours. Whether the session is still
 * live is for the caller to ask (`authState.liveSession`).
 */
export function sessionIdOfCookie (sessions: Pick<Store['sessions'], 'idOf'>, raw: string | undefined, signer: CookieSigner): string | undefined | false {
  if (raw === undefined || raw === '') return undefined
  const unsigned = signer.unsignCookie(raw)
  if (!unsigned.valid || unsigned.value === null || unsigned.value === '') return false
  return sessions.idOf(unsigned.value)
}

/**
 * Ends a session in the database (so on every instance, with the tokens issued through it)
 * and forgets it in this instance at once. Whether it was open until now.
 */
export async function endSession (sessions: Pick<Store['sessions'], 'end'>, forget: (id: string) => void, id: string): Promise<boolean> {
  const ended = await sessions.end(id)
  forget(id)
  return ended !== undefined
}

/** The request headers that tell where a browser request comes from. */
export interface OriginHeaders {
  origin?: string
  'sec-fetch-site'?: string | string[]
}

/**
 * Whether a browser request comes from another site (an `Origin` that is neither the public
 * origin nor allowed, or `Sec-Fetch-Site: cross-site`): it must not use, open or end a session.
 * Requests without these headers (not from a browser) pass.
 */
export function isForeignOrigin (headers: OriginHeaders, isAllowedOrigin: (origin: string) => boolean): boolean {
  const origin = headers.origin
  if (origin !== undefined && !isAllowedOrigin(origin)) return true
  return headers['sec-fetch-site'] === 'cross-site'
}
