import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { docsPage } from '../../lib/html/docs.js'
import { HTML_HELMET, usePageHeaders, sendPage } from '../../lib/html/reply.js'

/** `GET /docs`: the `resource_documentation` of the protected-resource metadata. */
const docs: FastifyPluginAsyncTypebox = async function (fastify) {
  await usePageHeaders(fastify)
  const tools = fastify.tools.all.map(t => ({ name: t.definition.name, title: t.definition.title, scopes: t.definition.scopes }))
  fastify.get('/', {
    helmet: HTML_HELMET,
    schema: { response: { 200: Type.String() } }
  }, async function (request, reply) {
    return sendPage(reply, 200, docsPage(fastify.publicBase(request), tools))
  })
}

export default docs
