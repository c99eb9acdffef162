import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { HTML_HELMET, usePageHeaders } from '../../../../lib/html/reply.js'
import { AuthorizeQuerySchema, htmlErrorHandler, proceed, renderError, validateAuthorizeQuery } from '../../../../lib/oauth/authorize-flow.js'

/**
 * GET /login/oauth/authorize — the authorization endpoint (authorization code + PKCE S256).
 * Requests that cannot be sent back to the client (unknown client, unregistered redirect URI)
 * get an error page; the others are answered at the redirect URI, with `state` and `iss`.
 */
const authorize: FastifyPluginAsyncTypebox = async function (fastify) {
  await usePageHeaders(fastify)
  fastify.get('/', {
    helmet: HTML_HELMET,
    errorHandler: htmlErrorHandler,
    schema: { querystring: AuthorizeQuerySchema },
    config: { rateLimit: { max: fastify.config.RATE_LIMIT_MAX, timeWindow: fastify.config.RATE_LIMIT_WINDOW } }
  }, async (request, reply) => {
    const checked = await validateAuthorizeQuery(fastify, request, request.query)
    if (!checked.ok) {
      if ('page' in checked) return renderError(reply, checked.page)
      return reply.header('cache-control', 'no-store').redirect(checked.redirect, 302)
    }
    return await proceed(fastify, request, reply, checked.request, checked.client, checked.prompt)
  })
}

export default authorize
