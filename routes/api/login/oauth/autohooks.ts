import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { OAuthError } from '../../../../lib/oauth/errors.js'
import { isUnavailable } from '../../../../lib/storage/errors.js'

/** Token endpoint answers carry credentials, and the others speak of them: never cached. */
function noStore (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  reply.header('cache-control', 'no-store')
  done()
}

/**
 * RFC 6749 §5.2 bodies for OAuthError (`invalid_client` with the Basic challenge) and for
 * malformed requests; a database outage as 503 `temporarily_unavailable` (§5.2 leaves it to the
 * server: it tells a client to retry rather than give up).
 */
function oauthErrorHandler (error: Error & { validation?: unknown, statusCode?: number }, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  if (error instanceof OAuthError) {
    if (error.code === 'invalid_client') reply.header('www-authenticate', 'Basic realm="iam-mcp", charset="UTF-8"')
    request.log.info({ err: { message: error.message, code: error.code } }, 'oauth request refused')
    return reply.code(error.statusCode).send(error.toJSON())
  }
  if (isUnavailable(error)) {
    request.log.error({ err: error }, 'oauth endpoint: database unavailable')
    return reply.code(503).send({ error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable' })
  }
  if (error.validation !== undefined || (error.statusCode !== undefined && error.statusCode < 500)) {
    return reply.code(error.statusCode === 415 || error.statusCode === 413 ? error.statusCode : 400).send({ error: 'invalid_request', error_description: error.message })
  }
  throw error
}

/**
 * The OAuth endpoints below this folder (token, introspection, revocation; cascaded by
 * autoload, while POST /api/login in the folder above keeps its own shape): refusals are
 * RFC 6749 §5.2 error bodies, and no answer is cached. Each route counts RATE_LIMIT_MAX requests
 * per address; the token endpoint, which counts per client as well, sets its own.
 */
export default async function oauthEndpoints (fastify: FastifyInstance): Promise<void> {
  fastify.setErrorHandler(oauthErrorHandler)
  fastify.addHook('onRequest', noStore)
  fastify.limitRoutes({ max: fastify.config.RATE_LIMIT_MAX, timeWindow: fastify.config.RATE_LIMIT_WINDOW })
}
