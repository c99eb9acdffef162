import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { OAuthError } from '../../../../../lib/oauth/errors.js'

const IntrospectionRequestSchema = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 8192 })),
  token_type_hint: Type.Optional(Type.String({ maxLength: 64 })),
  // A metadata-document client's id is its document's URL (at most 2048 characters).
  client_id: Type.Optional(Type.String({ maxLength: 2048 })),
  client_secret: Type.Optional(Type.String({ maxLength: 512 })),
  client_assertion_type: Type.Optional(Type.String({ maxLength: 256 })),
  client_assertion: Type.Optional(Type.String({ maxLength: 8192 }))
}, { additionalProperties: true })

const INACTIVE = { active: false } as const

/**
 * POST /api/login/oauth/introspect — RFC 7662. Only authenticated (confidential) clients may
 * ask, and only about their own tokens: any other token, and any token that is expired,
 * revoked, used or unknown, is `{"active": false}` (§2.2 allows exactly this).
 */
const introspect: FastifyPluginAsyncTypebox = async function (fastify) {
  const { store } = fastify

  fastify.post('/', {
    schema: { body: IntrospectionRequestSchema }
  }, async (request, reply) => {
    const caller = await fastify.authenticateClient(request, request.body)
    if (caller.method === 'none') throw new OAuthError('invalid_client', 'introspection is for authenticated clients')
    reply.header('pragma', 'no-cache')
    const token = request.body.token
    if (token === undefined || token === '') throw new OAuthError('invalid_request', 'token is required')
    const issuer = fastify.publicBase(request)

    if (token.split('.').length === 3) {
      const checked = await fastify.verifyAccessToken(token, issuer)
      if (!checked.ok || checked.claims.client_id !== caller.client.clientId) return INACTIVE
      const { claims, principal } = checked
      return {
        active: true,
        scope: claims.scope,
        client_id: claims.client_id,
        username: principal.kind === 'user' ? principal.name : undefined,
        // RFC 9449 §6.2: a bound token says so, with the key it is bound to.
        token_type: claims.cnf === undefined ? 'Bearer' : 'DPoP',
        ...(claims.cnf === undefined ? {} : { cnf: { jkt: claims.cnf.jkt } }),
        exp: claims.exp,
        iat: claims.iat,
        nbf: claims.nbf,
        sub: claims.sub,
        aud: claims.aud,
        iss: claims.iss,
        jti: claims.jti
      }
    }

    const record = await store.tokens.find(fastify.tokens.refreshTokenId(token))
    if (record === undefined || record.kind !== 'refresh' || record.clientId !== caller.client.clientId) return INACTIVE
    if (record.revokedAt !== null || record.usedAt !== null || record.expiresAt <= Date.now()) return INACTIVE
    const user = record.subjectKind === 'user' ? await fastify.authState.user(record.subject) : undefined
    if (record.subjectKind === 'user' && (user === undefined || user.isForbidden)) return INACTIVE
    return {
      active: true,
      scope: record.scope,
      client_id: record.clientId,
      username: user?.name,
      token_type: 'refresh_token',
      exp: Math.floor(record.expiresAt / 1000),
      iat: Math.floor(record.createdAt / 1000),
      sub: record.subject,
      aud: record.audience,
      iss: issuer,
      ...(record.jkt === null ? {} : { cnf: { jkt: record.jkt } })
    }
  })
}

export default introspect
