import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import { OAuthError } from '../../../../../lib/oauth/errors.js'
import { authorizationScheme, claimedClientId } from '../../../../../lib/oauth/client-auth.js'
import { grantHandlers, type GrantServices } from '../../../../../lib/oauth/grants/index.js'
import { OAUTH_PATHS } from '../../../../../lib/oauth/discovery.js'

const Param = Type.String({ maxLength: 8192 })

/**
 * Every parameter a grant may use. Repeated parameters arrive as arrays and fail the schema
 * (RFC 6749 §3.2), except `resource`, which RFC 8707 allows several times.
 */
const TokenRequestSchema = Type.Object({
  grant_type: Type.String({ minLength: 1, maxLength: 256 }),
  scope: Type.Optional(Param),
  resource: Type.Optional(Type.Union([Param, Type.Array(Param, { maxItems: 10 })])),
  client_id: Type.Optional(Param),
  client_secret: Type.Optional(Param),
  client_assertion_type: Type.Optional(Param),
  client_assertion: Type.Optional(Param),
  code: Type.Optional(Param),
  redirect_uri: Type.Optional(Param),
  code_verifier: Type.Optional(Param),
  refresh_token: Type.Optional(Param)
}, { additionalProperties: Type.Unknown() })

const TokenResponseSchema = Type.Object({
  access_token: Type.String(),
  // `N_A` with `issued_token_type`: an RFC 8693 exchange that issued an identity assertion.
  token_type: Type.Union([Type.Literal('Bearer'), Type.Literal('DPoP'), Type.Literal('N_A')]),
  issued_token_type: Type.Optional(Type.String()),
  expires_in: Type.Integer(),
  scope: Type.String(),
  refresh_token: Type.Optional(Type.String()),
  id_token: Type.Optional(Type.String())
})

const ErrorSchema = Type.Object({ error: Type.String(), error_description: Type.Optional(Type.String()) })

/**
 * The token endpoint (RFC 6749 §3.2): form-encoded or JSON bodies, client authentication by
 * HTTP Basic or the body, grant types dispatched through `lib/oauth/grants/index.ts`. Refusals
 * are RFC 6749 §5.2 error bodies (body parsing errors and a database outage too: this folder's
 * autohooks.ts), and every answer carries `Cache-Control: no-store` (autohooks.ts) and
 * `Pragma: no-cache`.
 */
const accessToken: FastifyPluginAsyncTypebox = async function (fastify) {
  const services: GrantServices = {
    tokens: fastify.tokens,
    store: fastify.store,
    accounts: fastify.authState,
    knownScopes: fastify.tools.scopes,
    log: fastify.log,
    enterprise: {
      keySets: fastify.keySets,
      signIdJag: fastify.signingKeys.signIdJag,
      verifyIdToken: fastify.signingKeys.verifyIdToken
    }
  }

  function refuse (reply: FastifyReply, err: OAuthError, basicAttempted: boolean) {
    if (err.statusCode === 401 && basicAttempted) reply.header('www-authenticate', 'Basic realm="iam-mcp", charset="UTF-8"')
    return reply.code(err.statusCode).send(err.toJSON())
  }

  fastify.post('/', {
    attachValidation: true,
    schema: {
      body: TokenRequestSchema,
      response: { 200: TokenResponseSchema, '4xx': ErrorSchema, 503: ErrorSchema }
    },
    // Its limits count per address and per client (`limits.check` below), not per route.
    config: { rateLimit: false }
  }, async (request, reply) => {
    reply.header('pragma', 'no-cache')
    const basicAttempted = authorizationScheme(request.headers.authorization) === 'basic'
    if (!await fastify.limits.check(request, reply, 'token', claimedClientId(request.headers.authorization, request.body), { error: 'temporarily_unavailable', error_description: 'too many requests; retry later' })) return reply
    try {
      if (request.validationError !== undefined || typeof request.body !== 'object' || request.body === null) {
        throw new OAuthError('invalid_request', 'the request must be a form or JSON object with grant_type, each parameter at most once')
      }
      const { resource, ...rest } = request.body
      const params: Record<string, string | undefined> = {}
      for (const [key, value] of Object.entries(rest)) {
        if (typeof value === 'string') params[key] = value
        else if (value !== undefined) throw new OAuthError('invalid_request', `parameter ${key} must be a single string`)
      }
      const resources = resource === undefined ? [] : Array.isArray(resource) ? resource : [resource]
      const handler = Object.hasOwn(grantHandlers, request.body.grant_type) ? grantHandlers[request.body.grant_type] : undefined
      if (handler === undefined) throw new OAuthError('unsupported_grant_type', `grant type "${request.body.grant_type}" is not supported`)
      const { client, method } = await fastify.authenticateClient(request, params)
      if (!client.grantTypes.includes(request.body.grant_type)) {
        throw new OAuthError('unauthorized_client', `the client may not use the ${request.body.grant_type} grant`)
      }
      const base = fastify.publicBase(request)
      // RFC 9449 §5: a valid proof binds what is issued to its key; a bad one is refused, never ignored.
      let dpopJkt: string | undefined
      if (request.headers.dpop !== undefined) {
        const proof = await fastify.dpop.verify(request.headers.dpop, { method: 'POST', url: base + OAUTH_PATHS.token })
        if (!proof.ok) throw new OAuthError('invalid_dpop_proof', proof.description)
        dpopJkt = proof.jkt
      } else if (client.dpopBoundAccessTokens) {
        throw new OAuthError('invalid_dpop_proof', 'this client gets only DPoP-bound tokens: a DPoP proof is required')
      }
      const response = await handler({ ...services, client, clientAuthMethod: method, params, resources, base, ...(dpopJkt === undefined ? {} : { dpopJkt }) })
      request.log.info({ clientId: client.clientId, grantType: request.body.grant_type, dpop: dpopJkt !== undefined }, 'token issued')
      return response
    } catch (err) {
      if (err instanceof OAuthError) {
        request.log.info({ error: err.code }, 'token request refused')
        return refuse(reply, err, basicAttempted)
      }
      throw err
    }
  })
}

export default accessToken
