import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'

/**
 * Security headers for the HTML pages (login, consent, errors). Registered with `global: false`:
 * JSON endpoints keep their own headers, and each HTML route opts in with `helmet: HTML_HELMET`.
 */
export default fp(async function securityHeaders (fastify) {
  await fastify.register(helmet, { global: false })
}, { name: 'helmet', fastify: '5.x' })
