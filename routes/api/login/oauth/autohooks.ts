import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { oauthErrorHandler } from '../../../../lib/oauth/endpoint-client.js'

/** Token endpoint answers carry credentials, and the others speak of them: never cached. */
function noStore (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  reply.header('cache-control', 'no-store')
  done()
}

/**
 * The OAuth endpoints below this folder (token, introspection, revocation; cascaded by
 * autoload, while POST /api/login in the folder above keeps its own shape): refusals are
 * RFC 6749 §5.2 error bodies, and no answer is cached. Rate limits stay on each route: the
 * token endpoint counts per client as well, the others per address.
 */
export default async function oauthEndpoints (fastify: FastifyInstance): Promise<void> {
  fastify.setErrorHandler(oauthErrorHandler)
  fastify.addHook('onRequest', noStore)
}
