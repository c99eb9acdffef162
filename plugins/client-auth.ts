import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { authenticateClient, type AuthenticatedClient } from '../lib/oauth/client-auth.js'
import { ClientMetadataError } from '../lib/oauth/client-metadata.js'
import { OAuthError } from '../lib/oauth/errors.js'
import { createClientKeys } from '../lib/oauth/client-assertion.js'
import { OAUTH_PATHS } from '../lib/oauth/discovery.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * RFC 6749 §2.3 client authentication of this request (lib/oauth/client-auth.ts): its
     * `Authorization` header, or `client_id` / `client_secret` or a client assertion among
     * `params`. Throws an OAuthError (`invalid_client`, `invalid_request`) when it fails.
     */
    authenticateClient: (request: FastifyRequest, params: Readonly<Record<string, string | undefined>>) => Promise<AuthenticatedClient>
  }
}

/** `fastify.authenticateClient` for the token, introspection and revocation endpoints. */
export default fp(async function clientAuth (fastify) {
  const { authState, clientMetadata, store } = fastify
  // Published key sets are fetched under the rules metadata documents are (DESIGN.md), through
  // the instance's one cache of other parties' keys.
  const keys = createClientKeys(fastify.keySets)
  const services = {
    ensureFresh: () => authState.ensureFresh(),
    authenticateClient: async (id: string, secret: string) => await authState.authenticateClient(id, secret),
    // A URL client id is found through its metadata document (fetched when unknown or stale).
    application: async (clientId: string) => {
      try {
        return await clientMetadata.application(clientId)
      } catch (err) {
        if (err instanceof ClientMetadataError) throw new OAuthError('invalid_client', err.message)
        throw err
      }
    },
    assertions: {
      keys: keys.keys,
      claim: async (kind: string, value: string, expiresAt: number) => await store.usedValues.claim(kind, value, expiresAt)
    }
  }
  fastify.decorate('authenticateClient', async function (request: FastifyRequest, params: Readonly<Record<string, string | undefined>>) {
    const issuer = fastify.publicBase(request)
    // RFC 7523 §3: the issuer or the token endpoint; at introspection and revocation, their own URL too.
    const audiences = [...new Set([issuer, issuer + OAUTH_PATHS.token, issuer + request.url.split('?')[0]])]
    return await authenticateClient(services, request.headers.authorization, params, { issuer, audiences })
  })
}, { name: 'client-auth', dependencies: ['auth-state', 'client-metadata', 'storage', 'public-url', 'key-sets'], fastify: '5.x' })
