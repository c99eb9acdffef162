import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { CSRF_COOKIE, createCsrf, csrfCookieOptions } from '../lib/html/csrf.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The HTML forms' CSRF tokens (lib/html/csrf.ts), per request. */
    csrf: {
      /** The token to put in a form (sets the cookie when the request has none). */
      token: (request: FastifyRequest, reply: FastifyReply) => string
      /** Whether a submitted token matches the request's cookie. */
      verify: (request: FastifyRequest, token: unknown) => boolean
    }
  }
}

export default fp(async function csrf (fastify) {
  const tokens = createCsrf(fastify.secrets.cookie)

  fastify.decorate('csrf', {
    token (request: FastifyRequest, reply: FastifyReply): string {
      let value = tokens.valueOf(request.cookies[CSRF_COOKIE])
      if (value === undefined) {
        value = tokens.newValue()
        reply.setCookie(CSRF_COOKIE, value, csrfCookieOptions(fastify.publicBase(request).startsWith('https:')))
      }
      return tokens.tokenFor(value)
    },
    verify (request: FastifyRequest, token: unknown): boolean {
      return tokens.verify(request.cookies[CSRF_COOKIE], token)
    }
  })
}, { name: 'csrf', dependencies: ['cookie', 'storage', 'public-url'], fastify: '5.x' })
