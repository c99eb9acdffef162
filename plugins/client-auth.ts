import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { authenticateClient, type AuthenticatedClient } from '../lib/oauth/client-auth.js'
import { ClientMetadataError } from '../lib/oauth/client-metadata.js'
import { OAuthError } from '../lib/oauth/errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * RFC 6749 §2.3 client authentication of this request (lib/oauth/client-auth.ts): its
     * `Authorization` header, or `client_id` / `client_secret` among `params`. Throws an
     * OAuthError (`invalid_client`, `invalid_request`) when it fails.
     */
    authenticateClient: (request: FastifyRequest, params: Readonly<Record<string, string | undefined>>) => Promise<AuthenticatedClient>
  }
}

/** `fastify.authenticateClient` for the token, introspection and revocation endpoints. */
export default fp(async function clientAuth (fastify) {
  const { authState, clientMetadata } = fastify
  // A URL client id is found through its metadata document (fetched when unknown or stale).
  const services = {
    ensureFresh: () => authState.ensureFresh(),
    authenticateClient: authState.authenticateClient,
    application: async (clientId: string) => {
      try {
        return await clientMetadata.application(clientId)
      } catch (err) {
        if (err instanceof ClientMetadataError) throw new OAuthError('invalid_client', err.message)
        throw err
      }
    }
  }
  fastify.decorate('authenticateClient', async function (request: FastifyRequest, params: Readonly<Record<string, string | undefined>>) {
    return await authenticateClient(services, request.headers.authorization, params)
  })
}, { name: 'client-auth', dependencies: ['auth-state', 'client-metadata'], fastify: '5.x' })
