import fp from 'fastify-plugin'
import { createTokenService, type TokenService } from '../lib/oauth/tokens.js'

declare module 'fastify' {
  interface FastifyInstance {
    tokens: TokenService
  }
}

/** `fastify.tokens`: token issuing (lib/oauth/tokens.ts) signed with the current signing key. */
export default fp(async function tokens (fastify) {
  const { store, config, signingKeys } = fastify
  fastify.decorate('tokens', createTokenService({ store, config, signer: signingKeys, publicBase: () => fastify.publicBase() }))
}, { name: 'tokens', dependencies: ['config', 'storage', 'public-url', 'keys'], fastify: '5.x' })
