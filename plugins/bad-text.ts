import fp from 'fastify-plugin'
import createError from '@fastify/error'
import type { preValidationHookHandler } from 'fastify'
import { findBadText } from '../lib/bad-text.js'

/**
 * A 400 each surface's own error handler renders in its shape (RFC 6749 at the OAuth endpoints,
 * RFC 7591 at registration, a page on the authorization pages, the login route's JSON).
 */
export const BadTextError = createError<[string]>('invalid_request', 'the %s holds U+0000 or an unpaired surrogate, which no field accepts', 400)

/**
 * Bad text (U+0000, lone surrogates) in a request's body, query string or path parameters is
 * refused before any route reads it: PostgreSQL cannot store U+0000, and a value that reaches
 * a query would fail as a 500 there and pass on SQLite. `/api/mcp` is left out: its refusals
 * come in a fixed order, and tool arguments are checked where the tool call is (lib/mcp/call.ts).
 */
export default fp(async function badText (fastify) {
  const refuseBadText: preValidationHookHandler = function (request, _reply, done) {
    if (findBadText(request.params) !== undefined) return done(new BadTextError('path'))
    if (findBadText(request.query) !== undefined) return done(new BadTextError('query string'))
    if (findBadText(request.body) !== undefined) return done(new BadTextError('request body'))
    done()
  }

  fastify.addHook('onRoute', function (routeOptions) {
    if (routeOptions.url === '/api/mcp' || routeOptions.url.startsWith('/api/mcp/')) return
    const existing = routeOptions.preValidation
    routeOptions.preValidation = existing === undefined ? [refuseBadText] : [refuseBadText, ...(Array.isArray(existing) ? existing : [existing])]
  })
}, { name: 'bad-text', fastify: '5.x' })
