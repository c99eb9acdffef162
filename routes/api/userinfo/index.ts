import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { OIDC_SCOPES } from '../../../lib/scopes.js'
import { servedResources } from '../../../lib/oauth/resource.js'
import { OAUTH_PATHS } from '../../../lib/oauth/discovery.js'
import { schemeMismatch } from '../../../lib/auth/dpop.js'

const UserInfoSchema = Type.Object({
  sub: Type.String(),
  name: Type.Optional(Type.String()),
  preferred_username: Type.Optional(Type.String()),
  email: Type.Optional(Type.String())
})

function challenge (reply: FastifyReply, status: 401 | 403, error: string, description: string): FastifyReply {
  return reply.code(status)
    .header('www-authenticate', `Bearer realm="userinfo", error="${error}", error_description="${description}"${status === 403 ? ', scope="openid"' : ''}`)
    .header('cache-control', 'no-store')
    .send({ error, error_description: description })
}

/**
 * GET /api/userinfo — OIDC Core §5.3: the signed-in person behind an access token that holds
 * `openid`; `name` and `preferred_username` with `profile`, `email` with `email`. Only the
 * `Authorization` header is read (`Bearer`, or `DPoP` with a proof; never the query string,
 * never a cookie).
 */
const userinfo: FastifyPluginAsyncTypebox = async function (fastify) {
  async function handler (request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers.authorization ?? ''
    const match = /^(Bearer|DPoP)\s+(\S+)\s*$/i.exec(header)
    if (match === null) return challenge(reply, 401, 'invalid_token', 'a bearer access token is required')
    const base = fastify.publicBase(request)
    const token = match[2]
    const checked = await fastify.verifyAccessToken(token, base, servedResources(base))
    if (!checked.ok) return challenge(reply, 401, 'invalid_token', checked.description)
    // RFC 9449 §7: a bound token only with the DPoP scheme and a proof by its key; the scheme only for a bound token.
    const jkt = checked.claims.cnf?.jkt
    const scheme = match[1].toLowerCase() === 'dpop' ? 'dpop' : 'bearer'
    const mismatch = schemeMismatch(scheme, jkt)
    if (mismatch !== undefined) return challenge(reply, 401, 'invalid_token', mismatch)
    if (jkt !== undefined) {
      const proof = await fastify.dpop.verify(request.headers.dpop, { method: request.method, url: base + OAUTH_PATHS.userinfo, accessToken: token, jkt })
      if (!proof.ok) return challenge(reply, 401, 'invalid_dpop_proof', proof.description)
    }
    const { principal } = checked
    const scopes = principal.scopes ?? new Set<string>()
    if (principal.kind !== 'user' || !scopes.has(OIDC_SCOPES[0])) {
      return challenge(reply, 403, 'insufficient_scope', 'the token must hold the openid scope of a user')
    }
    const user = await fastify.authState.user(principal.id)
    if (user === undefined) return challenge(reply, 401, 'invalid_token', 'the user no longer exists')
    const body: { sub: string, name?: string, preferred_username?: string, email?: string } = { sub: user.id }
    if (scopes.has(OIDC_SCOPES[1])) {
      body.name = user.displayName
      body.preferred_username = user.name
    }
    if (scopes.has(OIDC_SCOPES[2]) && user.email !== '') body.email = user.email
    return reply.header('cache-control', 'no-store').send(body)
  }

  const options = {
    schema: { response: { 200: UserInfoSchema } },
    config: { rateLimit: { max: fastify.config.RATE_LIMIT_MAX, timeWindow: fastify.config.RATE_LIMIT_WINDOW } }
  }
  fastify.get('/', options, handler)
  fastify.post('/', options, handler)
}

export default userinfo
