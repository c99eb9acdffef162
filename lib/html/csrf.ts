import { randomToken, safeEqual, secretDigest } from '../crypto.js'

/**
 * Signed double-submit CSRF protection for the HTML forms: a random value in an HttpOnly
 * cookie, and in each form a MAC of that value under the cookie secret. A cross-site page can
 * make the browser send the cookie but can neither read it nor forge the MAC.
 */
export const CSRF_COOKIE = 'iam_csrf'

/** The cookie's attributes: it only travels to the pages that hold forms. */
export function csrfCookieOptions (secure: boolean): { path: string, httpOnly: boolean, sameSite: 'lax', secure: boolean } {
  return { path: '/login', httpOnly: true, sameSite: 'lax', secure }
}

const VALUE = /^[A-Za-z0-9_-]{43}$/

export interface Csrf {
  /** The cookie's value when it is one of ours in shape, else undefined (a new one is needed). */
  valueOf: (cookie: string | undefined) => string | undefined
  /** A fresh cookie value. */
  newValue: () => string
  /** The token a form carries for this cookie value. */
  tokenFor: (value: string) => string
  /** Whether a submitted token matches the cookie's value. */
  verify: (cookie: string | undefined, token: unknown) => boolean
}

/** The CSRF tokens under one secret (the cookie secret, shared by every instance). */
export function createCsrf (secret: string): Csrf {
  const key = secretDigest(secret, 'iam-mcp csrf key')
  const tokenFor = (value: string): string => secretDigest(key, `csrf|${value}`)
  const valueOf = (cookie: string | undefined): string | undefined => cookie !== undefined && VALUE.test(cookie) ? cookie : undefined
  return {
    valueOf,
    newValue: () => randomToken(32),
    tokenFor,
    verify (cookie, token) {
      const value = valueOf(cookie)
      if (value === undefined || typeof token !== 'string' || token === '') return false
      return safeEqual(tokenFor(value), token)
    }
  }
}
