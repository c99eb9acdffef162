import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { isUnavailable } from '../../../../lib/storage/errors.js'
import { refuse } from './refusal.js'

/** Registration answers carry client secrets and registration tokens: never cached (RFC 7591 §3.2.1). */
function noStore (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  done()
}

/** RFC 7591 error bodies for whatever fails before the handler (schema, content type, size) or in it. */
function registrationErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.validation !== undefined) {
    return refuse(reply, 400, 'invalid_client_metadata', `client metadata ${error.message}`)
  }
  if (error.statusCode !== undefined && error.statusCode < 500) {
    return refuse(reply, error.statusCode, 'invalid_client_metadata', error.message)
  }
  // RFC 7591 has no error code for an outage; 503 and RFC 6749's code tell the client to retry.
  if (isUnavailable(error)) {
    request.log.error({ err: error }, 'client registration failed: database unavailable')
    return refuse(reply, 503, 'temporarily_unavailable', 'the service is temporarily unavailable')
  }
  request.log.error({ err: error }, 'client registration failed')
  return refuse(reply, 500, 'server_error', 'the registration could not be completed')
}

/**
 * Dynamic client registration (RFC 7591, and RFC 7592 management under /:clientId): every
 * failure is an RFC 7591 error body, and no answer is cached. Each route counts a tenth of
 * RATE_LIMIT_MAX (at least 10) per address, stricter than elsewhere: each registration creates
 * a client.
 */
export default async function registration (fastify: FastifyInstance): Promise<void> {
  const { config } = fastify
  fastify.setErrorHandler(registrationErrorHandler)
  fastify.addHook('onRequest', noStore)
  fastify.limitRoutes({ max: Math.max(10, Math.floor(config.RATE_LIMIT_MAX / 10)), timeWindow: config.RATE_LIMIT_WINDOW })
}
