import fp from 'fastify-plugin'
import { createKeySets, type KeySets } from '../lib/net/key-sets.js'
import { DEFAULT_FETCH_POLICY } from '../lib/net/fetch.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Public keys of others (clients for private_key_jwt, identity providers for ID-JAGs): inline, or fetched and cached. */
    keySets: KeySets
  }
}

/**
 * One cache of other parties' key sets for the whole instance, fetched under one policy: https
 * only, unless the development switch also allows http and non-public addresses.
 */
export default fp(async function keySets (fastify) {
  const allowInsecure = fastify.config.CLIENT_ID_METADATA_INSECURE
  fastify.decorate('keySets', createKeySets({ fetchPolicy: { ...DEFAULT_FETCH_POLICY, allowInsecure } }))
}, { name: 'key-sets', dependencies: ['config'], fastify: '5.x' })
