import type { FastifyReply } from 'fastify'

/** An RFC 7591 error body; a 401 also says which Bearer token was wanted. */
export function refuse (reply: FastifyReply, status: number, error: string, description: string): FastifyReply {
  if (status === 401) reply.header('www-authenticate', `Bearer error="${error}"`)
  return reply.code(status).send({ error, error_description: description })
}
