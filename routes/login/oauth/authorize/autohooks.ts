import helmet from '@fastify/helmet'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { HTML_HELMET } from '../../../../lib/html/reply.js'
import { isUnavailable } from '../../../../lib/storage/errors.js'
import { renderError } from './flow.js'

/** Every answer of the pages holds a person's sign-in or consent step: never cached. */
function noStore (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  reply.header('cache-control', 'no-store')
  done()
}

/** Errors on these pages are pages too: a person is reading, not a program. */
function htmlErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.validation !== undefined || (error.statusCode !== undefined && error.statusCode < 500)) {
    request.log.info({ err: { message: error.message, code: error.code } }, 'authorization page refused')
    return renderError(reply, { status: error.statusCode ?? 400, title: 'Bad request', message: 'The request could not be understood. Start again from the application.', code: 'invalid_request' })
  }
  if (isUnavailable(error)) {
    request.log.error({ err: error }, 'authorization page: database unavailable')
    return renderError(reply, { status: 503, title: 'Temporarily unavailable', message: 'The service cannot complete this step right now. Try again in a moment.', code: 'temporarily_unavailable' })
  }
  request.log.error({ err: error }, 'authorization page failed')
  return renderError(reply, { status: 500, title: 'Something went wrong', message: 'The service could not complete this step. Try again in a moment.', code: 'server_error' })
}

/**
 * The authorization pages: this folder and, cascaded by autoload, `consent/` and `login/`
 * (GET /login/oauth/authorize and the two forms). Failures are an HTML error page, never JSON;
 * every answer has the pages' security headers and is never cached. Rate limits stay on each
 * route, as no two pages share one: GET counts RATE_LIMIT_MAX per address, the consent form a
 * fixed budget, the login form the login bucket shared with POST /api/login (`fastify.limits`).
 */
export default async function authorizationPages (fastify: FastifyInstance): Promise<void> {
  fastify.setErrorHandler(htmlErrorHandler)
  // @fastify/helmet here rather than at the root: registered there, even with `global: false`,
  // it would add two hooks (one async) to every request, /api/mcp included, to do nothing.
  await fastify.register(helmet, { global: true, ...HTML_HELMET })
  fastify.addHook('onRequest', noStore)
}
