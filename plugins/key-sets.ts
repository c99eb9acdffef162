import fp from 'fastify-plugin'
import { KeySets } from '../lib/net/key-sets.js'
import { DEFAULT_FETCH_POLICY } from '../lib/net/fetch.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Public keys of others (identity providers, clients): inline sets, or fetched and cached. */
    keySets: KeySets
  }
}

/** One cache of other parties' key sets for the whole instance, fetched under one policy. */
export default fp(async function keySets (fastify) {
  const allowInsecure = fastify.config.CLIENT_ID_METADATA_INSECURE
  fastify.decorate('keySets', new KeySets(() => ({ ...DEFAULT_FETCH_POLICY, allowInsecure })))
}, { name: 'key-sets', dependencies: ['config'], fastify: '5.x' })
