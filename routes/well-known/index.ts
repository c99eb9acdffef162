import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import cors from '@fastify/cors'
import {
  advertisedScopes, applicationScopes, authorizationServerMetadata, protectedResourceMetadata,
  AuthorizationServerMetadataSchema, JwksSchema, OAUTH_PATHS, ProtectedResourceMetadataSchema
} from '../../lib/oauth/discovery.js'
import { SLUG_PATTERN } from '../../lib/patterns.js'

/** The folder is `well-known` (a dot-folder is not type-checked); the URLs are `/.well-known/…`. */
export const prefixOverride = '/.well-known'

const NotFound = Type.Object({ error: Type.String(), error_description: Type.String() })
const APPLICATION_NAME = new RegExp(SLUG_PATTERN)
const AppParams = Type.Object({ app: Type.String({ minLength: 1, maxLength: 200 }) })

/**
 * Discovery: RFC 9728 protected resource metadata (root and path-inserted for `/api/mcp`),
 * RFC 8414 / OIDC metadata and the JWKS, each also per application. CORS is open on all of
 * them (and only on them: this plugin is encapsulated), so browser clients can discover.
 */
const wellKnown: FastifyPluginAsyncTypebox = async function (fastify) {
  await fastify.register(cors, { origin: '*', methods: ['GET', 'HEAD', 'OPTIONS'], maxAge: 86400 })

  fastify.addHook('onSend', async (request, reply) => {
    if (reply.statusCode === 200) reply.header('cache-control', 'public, max-age=300')
  })

  // Derived once from the tool modules' declarations; never listed by hand.
  const scopes = advertisedScopes(fastify.tools.scopes)

  async function application (name: string) {
    // Application names are slugs; anything else (a NUL byte PostgreSQL cannot even compare) names none.
    if (!APPLICATION_NAME.test(name)) return undefined
    return await fastify.store.applications.findByName(name)
  }

  function unknownApplication (name: string) {
    return { error: 'not_found', error_description: `no application named ${JSON.stringify(name)}` }
  }

  fastify.get('/oauth-protected-resource', {
    schema: { response: { 200: ProtectedResourceMetadataSchema } }
  }, async (request) => {
    const base = fastify.publicBase(request)
    return protectedResourceMetadata(base, base, scopes)
  })

  // RFC 9728 §3.1: the well-known segment goes between the host and the resource's path.
  fastify.get('/oauth-protected-resource' + OAUTH_PATHS.mcp, {
    schema: { response: { 200: ProtectedResourceMetadataSchema } }
  }, async (request) => {
    const base = fastify.publicBase(request)
    return protectedResourceMetadata(base, base + OAUTH_PATHS.mcp, scopes)
  })

  fastify.get('/:app/oauth-protected-resource', {
    schema: { params: AppParams, response: { 200: ProtectedResourceMetadataSchema, 404: NotFound } }
  }, async (request, reply) => {
    const app = await application(request.params.app)
    if (app === undefined) return await reply.code(404).send(unknownApplication(request.params.app))
    const base = fastify.publicBase(request)
    return protectedResourceMetadata(base, base, applicationScopes(app, fastify.tools.scopes))
  })

  const registrationOpen = fastify.config.REGISTRATION !== 'closed'
  const metadataDocuments = fastify.clientMetadata.enabled
  for (const document of ['oauth-authorization-server', 'openid-configuration']) {
    fastify.get('/' + document, {
      schema: { response: { 200: AuthorizationServerMetadataSchema } }
    }, async (request) => authorizationServerMetadata(fastify.publicBase(request), scopes, registrationOpen, metadataDocuments))

    fastify.get(`/:app/${document}`, {
      schema: { params: AppParams, response: { 200: AuthorizationServerMetadataSchema, 404: NotFound } }
    }, async (request, reply) => {
      const app = await application(request.params.app)
      if (app === undefined) return await reply.code(404).send(unknownApplication(request.params.app))
      return authorizationServerMetadata(fastify.publicBase(request), applicationScopes(app, fastify.tools.scopes), registrationOpen, metadataDocuments)
    })
  }

  fastify.get('/jwks', {
    schema: { response: { 200: JwksSchema } }
  }, async () => fastify.signingKeys.jwks())

  fastify.get('/:app/jwks', {
    schema: { params: AppParams, response: { 200: JwksSchema, 404: NotFound } }
  }, async (request, reply) => {
    const app = await application(request.params.app)
    if (app === undefined) return await reply.code(404).send(unknownApplication(request.params.app))
    return fastify.signingKeys.jwks()
  })
}

export default wellKnown
