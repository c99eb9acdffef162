import fp from 'fastify-plugin'
import formbody from '@fastify/formbody'

/** `application/x-www-form-urlencoded` bodies: the OAuth token endpoint and the HTML login forms. */
export default fp(async function form (fastify) {
  await fastify.register(formbody, { bodyLimit: 65536 })
}, { name: 'form', fastify: '5.x' })
