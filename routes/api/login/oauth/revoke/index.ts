import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { OAuthError } from '../../../../../lib/oauth/errors.js'

const RevocationRequestSchema = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 8192 })),
  token_type_hint: Type.Optional(Type.String({ maxLength: 64 })),
  // A metadata-document client's id is its document's URL (at most 2048 characters).
  client_id: Type.Optional(Type.String({ maxLength: 2048 })),
  client_secret: Type.Optional(Type.String({ maxLength: 512 })),
  client_assertion_type: Type.Optional(Type.String({ maxLength: 256 })),
  client_assertion: Type.Optional(Type.String({ maxLength: 8192 }))
}, { additionalProperties: true })

/**
 * POST /api/login/oauth/revoke — RFC 7009. A client revokes its own access or refresh tokens;
 * revoking a refresh token revokes its whole family (the access tokens issued with it too).
 * Unknown tokens, and tokens of other clients, are answered 200 with nothing done (§2.2).
 */
const revoke: FastifyPluginAsyncTypebox = async function (fastify) {
  const { store } = fastify

  fastify.post('/', {
    schema: { body: RevocationRequestSchema }
  }, async (request, reply) => {
    const caller = await fastify.authenticateClient(request, request.body)
    const token = request.body.token
    if (token === undefined || token === '') throw new OAuthError('invalid_request', 'token is required')
    const clientId = caller.client.clientId

    if (token.split('.').length === 3) {
      const checked = await fastify.verifyAccessToken(token, fastify.publicBase(request))
      if (checked.ok && checked.claims.client_id === clientId) {
        await store.tokens.revoke(checked.claims.jti)
        request.log.info({ clientId }, 'access token revoked by its client')
      }
      return reply.code(200).send()
    }

    const record = await store.tokens.find(fastify.tokens.refreshTokenId(token))
    if (record !== undefined && record.kind === 'refresh' && record.clientId === clientId) {
      const revoked = record.familyId === null ? await store.tokens.revoke(record.id) : await store.tokens.revokeFamily(record.familyId)
      request.log.info({ clientId, revoked }, 'refresh token family revoked by its client')
    }
    return reply.code(200).send()
  })
}

export default revoke
