import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorRedirect, grantCode, openForm, renderLogin } from '../flow.js'
import { sortScopes } from '../../../../../lib/scopes.js'

const ConsentFormSchema = Type.Object({
  csrf_token: Type.Optional(Type.String({ maxLength: 256 })),
  request: Type.Optional(Type.String({ maxLength: 8192 })),
  decision: Type.Optional(Type.String({ maxLength: 16 })),
  scope: Type.Optional(Type.Union([Type.String({ maxLength: 128 }), Type.Array(Type.String({ maxLength: 128 }), { maxItems: 200 })]))
}, { additionalProperties: true })

/**
 * POST /login/oauth/authorize/consent — Allow or Deny. The code carries only the scopes that
 * stayed ticked (never more than the request asked); none ticked is a denial. The consent is
 * remembered, so the same client asking again for no more than this skips the page.
 */
const consent: FastifyPluginAsyncTypebox = async function (fastify) {
  fastify.post('/', {
    schema: { body: ConsentFormSchema },
    // Its own fixed budget: a person clicks Allow or Deny, far below what RATE_LIMIT_MAX allows.
    config: { rateLimit: { max: 60, timeWindow: 60_000 } }
  }, async (request, reply) => {
    const body = request.body
    const form = await openForm(fastify, request, reply, body)
    if (form === undefined) return reply
    const { req, client } = form

    const current = await fastify.sessions.read(request)
    if (current === undefined) {
      return renderLogin(fastify, request, reply, req, client, { status: 401, error: 'Your sign-in has ended. Sign in again to continue.' })
    }
    // The person has seen the consent page: from here on the client is told, whoever it is.
    if (body.decision !== 'approve') {
      return errorRedirect(fastify, request, reply, req, 'access_denied', 'the user denied the request', 303)
    }
    const ticked = new Set(Array.isArray(body.scope) ? body.scope : body.scope === undefined ? [] : [body.scope])
    const approved = req.scopes.filter(s => ticked.has(s))
    if (approved.length === 0) {
      return errorRedirect(fastify, request, reply, req, 'access_denied', 'the user allowed no scope', 303)
    }
    const earlier = await fastify.store.consents.get(current.user.id, client.clientId)
    await fastify.store.consents.grant(current.user.id, client.clientId, sortScopes([...earlier, ...approved]))
    return await grantCode(fastify, request, reply, req, current.session, approved, 303)
  })
}

export default consent
