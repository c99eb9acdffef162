import fp from 'fastify-plugin'
import fastifyCookie from '@fastify/cookie'

/**
 * Cookie parsing and signing. The secret is `COOKIE_SECRET`, or the one generated on the first
 * start and shared by every instance through the database.
 */
export default fp(async function cookie (fastify) {
  await fastify.register(fastifyCookie, { secret: fastify.secrets.cookie, hook: 'onRequest' })
}, { name: 'cookie', dependencies: ['storage'], fastify: '5.x' })
