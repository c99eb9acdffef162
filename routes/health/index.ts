import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'

const Status = Type.Object({ status: Type.String() })

const health: FastifyPluginAsyncTypebox = async function (fastify) {
  fastify.get('/live', {
    schema: { response: { 200: Status } }
  }, async () => ({ status: 'ok' }))

  fastify.get('/ready', {
    schema: { response: { 200: Status, 503: Status } }
  }, async (request, reply) => {
    try {
      await fastify.pingDatabase()
      return { status: 'ok' }
    } catch (err) {
      request.log.warn({ err: { message: (err as Error).message } }, 'database not reachable')
      return reply.code(503).send({ status: 'database unavailable' })
    }
  })
}

export default health
