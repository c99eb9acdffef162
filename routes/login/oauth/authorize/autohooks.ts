import helmet from '@fastify/helmet'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { HTML_HELMET } from '../../../../lib/html/reply.js'
import { htmlErrorHandler } from '../../../../lib/oauth/authorize-flow.js'

/** Every answer of the pages holds a person's sign-in or consent step: never cached. */
function noStore (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  reply.header('cache-control', 'no-store')
  done()
}

/**
 * The authorization pages: this folder and, cascaded by autoload, `consent/` and `login/`
 * (GET /login/oauth/authorize and the two forms). Failures are an HTML error page, never JSON;
 * every answer has the pages' security headers and is never cached. Rate limits stay on each
 * route: they differ from one page to the next.
 */
export default async function authorizationPages (fastify: FastifyInstance): Promise<void> {
  fastify.setErrorHandler(htmlErrorHandler)
  // @fastify/helmet here rather than at the root: registered there, even with `global: false`,
  // it would add two hooks (one async) to every request, /api/mcp included, to do nothing.
  await fastify.register(helmet, { global: true, ...HTML_HELMET })
  fastify.addHook('onRequest', noStore)
}
