import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'

/** An RFC 7591 error body; a 401 also says which Bearer token was wanted. */
export function refuse (reply: FastifyReply, status: number, error: string, description: string): FastifyReply {
  if (status === 401) reply.header('www-authenticate', `Bearer error="${error}"`)
  return reply.code(status).send({ error, error_description: description })
}

/** RFC 7591 error bodies for whatever fails before the handler (schema, content type, size) or in it. */
export function registrationErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.validation !== undefined) {
    return refuse(reply, 400, 'invalid_client_metadata', `client metadata ${error.message}`)
  }
  if (error.statusCode !== undefined && error.statusCode < 500) {
    return refuse(reply, error.statusCode, 'invalid_client_metadata', error.message)
  }
  request.log.error({ err: error }, 'client registration failed')
  return refuse(reply, 500, 'server_error', 'the registration could not be completed')
}
