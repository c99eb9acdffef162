import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AuthorizeQuerySchema } from '../../../../lib/oauth/authorize-query.js'
import { proceed, renderError, validateQuery } from './flow.js'

/**
 * GET /login/oauth/authorize — the authorization endpoint (authorization code + PKCE S256).
 * Requests that cannot be sent back to the client (unknown client, unregistered redirect URI)
 * get an error page; the others are answered at the redirect URI, with `state` and `iss`.
 * Error page, security and cache headers: this folder's autohooks.ts.
 */
const authorize: FastifyPluginAsyncTypebox = async function (fastify) {
  fastify.get('/', {
    schema: { querystring: AuthorizeQuerySchema },
    config: { rateLimit: { max: fastify.config.RATE_LIMIT_MAX, timeWindow: fastify.config.RATE_LIMIT_WINDOW } }
  }, async (request, reply) => {
    const checked = await validateQuery(fastify, request, request.query)
    if (!checked.ok) {
      if ('page' in checked) return renderError(reply, checked.page)
      return reply.redirect(checked.redirect, 302)
    }
    return await proceed(fastify, request, reply, checked.request, checked.client, checked.prompt)
  })
}

export default authorize
