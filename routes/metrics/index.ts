import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'

const metrics: FastifyPluginAsyncTypebox = async function (fastify) {
  fastify.get('/', {
    schema: { response: { 200: Type.String() } }
  }, async (request, reply) => {
    const body = await fastify.metrics.registry.metrics()
    return reply.type(fastify.metrics.registry.contentType).send(body)
  })
}

export default metrics
