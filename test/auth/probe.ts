import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import app, { serverOptions } from '../../app.js'
import { readConfig } from '../../lib/config.js'
import { testEnv, type TestContext } from '../helper.js'

/**
 * The service plus one probe route, `GET|POST /test/whoami`, that answers what
 * `fastify.authenticate` decided: lets the auth tests run before, and independently of, the MCP
 * endpoint.
 */
export async function buildWithProbe (t: TestContext, env: Record<string, string | undefined> = {}): Promise<FastifyInstance> {
  const fullEnv = await testEnv(t, env)
  const fastify = Fastify(serverOptions(readConfig(fullEnv)))
  // fastify-plugin: the app's decorators are visible to the probe route beside it.
  await fastify.register(fp(app), { printSecret: () => {}, env: fullEnv })
  fastify.after(() => {
    fastify.route({
      method: ['GET', 'POST'],
      url: '/test/whoami',
      handler: async (request, reply) => {
        const result = await fastify.authenticate(request)
        if (!result.ok) return await reply.code(401).send({ failure: result.failure })
        const { scopes, ...rest } = result.principal
        return { principal: { ...rest, scopes: scopes === null ? null : [...scopes].sort() } }
      }
    })
  })
  t.teardown(() => fastify.close())
  await fastify.ready()
  return fastify
}
