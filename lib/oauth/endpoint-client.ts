import type { FastifyReply, FastifyRequest } from 'fastify'
import { OAuthError } from './errors.js'

/**
 * Error handler of the OAuth endpoints (token, introspection, revocation): RFC 6749 §5.2 bodies
 * for OAuthError (`invalid_client` with the Basic challenge) and for malformed requests.
 */
export function oauthErrorHandler (error: Error & { validation?: unknown, statusCode?: number }, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  if (error instanceof OAuthError) {
    if (error.code === 'invalid_client') reply.header('www-authenticate', 'Basic realm="iam-mcp", charset="UTF-8"')
    request.log.info({ err: { message: error.message, code: error.code } }, 'oauth request refused')
    return reply.code(error.statusCode).send(error.toJSON())
  }
  if (error.validation !== undefined || (error.statusCode !== undefined && error.statusCode < 500)) {
    return reply.code(error.statusCode === 415 || error.statusCode === 413 ? error.statusCode : 400).send({ error: 'invalid_request', error_description: error.message })
  }
  throw error
}
