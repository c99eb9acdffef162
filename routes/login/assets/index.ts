import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { STYLESHEET } from '../../../lib/html/style.js'

/** The pages' one stylesheet; its URL carries a content hash, so it may be cached for good. */
const assets: FastifyPluginAsyncTypebox = async function (fastify) {
  fastify.get('/style.css', {
    schema: { querystring: Type.Object({ v: Type.Optional(Type.String({ maxLength: 64 })) }) }
  }, async (request, reply) => {
    return reply
      .header('content-type', 'text/css; charset=utf-8')
      .header('cache-control', request.query.v === undefined ? 'public, max-age=300' : 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .send(STYLESHEET)
  })
}

export default assets
