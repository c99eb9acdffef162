import fp from 'fastify-plugin'
import { ClientMetadataResolver } from '../lib/oauth/client-metadata.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Client ids to applications, metadata-document clients included (lib/oauth/client-metadata.ts):
     * what the authorization and token endpoints use to find a client. `/api/mcp` does not: a
     * token's client is read from storage as stored, never fetched.
     */
    clientMetadata: ClientMetadataResolver
  }
}

/** `fastify.clientMetadata`, configured by the CLIENT_ID_METADATA* settings. */
export default fp(async function clientMetadata (fastify) {
  const { config, store, authState } = fastify
  if (config.CLIENT_ID_METADATA_INSECURE && config.CLIENT_ID_METADATA !== 'off') {
    fastify.log.warn('CLIENT_ID_METADATA_INSECURE=true: client metadata documents are also fetched over http and from loopback and private addresses; for development and tests only')
  }
  fastify.decorate('clientMetadata', new ClientMetadataResolver({
    mode: config.CLIENT_ID_METADATA,
    hosts: config.clientIdMetadataHosts,
    allowInsecure: config.CLIENT_ID_METADATA_INSECURE,
    organization: config.REGISTRATION_ORGANIZATION
  }, {
    application: authState.application,
    applications: store.applications,
    knownScopes: () => fastify.tools.scopes,
    onFetch: (event) => {
      if (event.ok) fastify.log.info({ clientId: event.clientId }, 'client metadata document fetched')
      else fastify.log.warn({ clientId: event.clientId, reason: event.reason }, 'client metadata document refused')
    }
  }))
}, { name: 'client-metadata', dependencies: ['config', 'storage', 'auth-state', 'tool-registry'], fastify: '5.x' })
