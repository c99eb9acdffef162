import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'

const Answer = Type.Object({ status: Type.Union([Type.Literal('ok'), Type.Literal('error')]), error: Type.Optional(Type.String()) })

/**
 * POST /api/logout — ends the cookie's session in the database (so it ends on every instance,
 * with every token issued through it) and clears the cookie. 200 whether or not a session was
 * open; a foreign Origin is refused.
 */
const logout: FastifyPluginAsyncTypebox = async function (fastify) {
  fastify.post('/', {
    schema: { response: { 200: Answer, 403: Answer } }
  }, async (request, reply) => {
    if (fastify.sessions.isForeignOrigin(request)) return await reply.code(403).send({ status: 'error', error: 'forbidden_origin' })
    const ended = await fastify.sessions.end(request, reply)
    request.log.info({ ended }, 'signed out')
    return await reply.header('cache-control', 'no-store').send({ status: 'ok' })
  })
}

export default logout
