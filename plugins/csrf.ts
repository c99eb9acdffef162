import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { randomToken, safeEqual, secretDigest } from '../lib/crypto.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Signed double-submit CSRF protection for the HTML forms: a random value in an HttpOnly
     * cookie, and in each form a MAC of that value under the cookie secret. A cross-site page
     * can make the browser send the cookie but can neither read it nor forge the MAC.
     */
    csrf: {
      /** The token to put in a form (sets the cookie when the request has none). */
      token: (request: FastifyRequest, reply: FastifyReply) => string
      /** Whether a submitted token matches the request's cookie. */
      verify: (request: FastifyRequest, token: unknown) => boolean
    }
  }
}

export const CSRF_COOKIE = 'iam_csrf'
/** The cookie only travels to the pages that hold forms. */
const COOKIE_PATH = '/login'
const VALUE = /^[A-Za-z0-9_-]{43}$/

export default fp(async function csrf (fastify) {
  const key = secretDigest(fastify.secrets.cookie, 'iam-mcp csrf key')
  const mac = (value: string): string => secretDigest(key, `csrf|${value}`)

  function current (request: FastifyRequest): string | undefined {
    const value = request.cookies[CSRF_COOKIE]
    return value !== undefined && VALUE.test(value) ? value : undefined
  }

  fastify.decorate('csrf', {
    token (request: FastifyRequest, reply: FastifyReply): string {
      let value = current(request)
      if (value === undefined) {
        value = randomToken(32)
        reply.setCookie(CSRF_COOKIE, value, {
          path: COOKIE_PATH,
          httpOnly: true,
          sameSite: 'lax',
          secure: fastify.publicBase(request).startsWith('https:')
        })
      }
      return mac(value)
    },
    verify (request: FastifyRequest, token: unknown): boolean {
      const value = current(request)
      if (value === undefined || typeof token !== 'string' || token === '') return false
      return safeEqual(mac(value), token)
    }
  })
}, { name: 'csrf', dependencies: ['cookie', 'storage', 'public-url'], fastify: '5.x' })
