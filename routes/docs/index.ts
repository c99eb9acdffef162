import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import helmet from '@fastify/helmet'
import { docsPage } from '../../lib/html/docs.js'
import { HTML_HELMET, sendPage } from '../../lib/html/reply.js'

/** `GET /docs`: the `resource_documentation` of the protected-resource metadata. */
const docs: FastifyPluginAsyncTypebox = async function (fastify) {
  // The pages' security headers, for this route only (see routes/login/oauth/authorize/autohooks.ts).
  await fastify.register(helmet, { global: true, ...HTML_HELMET })
  const tools = fastify.tools.all.map(t => ({ name: t.definition.name, title: t.definition.title, scopes: t.definition.scopes }))
  fastify.get('/', {
    schema: { response: { 200: Type.String() } }
  }, async function (request, reply) {
    return sendPage(reply, 200, docsPage(fastify.publicBase(request), tools))
  })
}

export default docs
