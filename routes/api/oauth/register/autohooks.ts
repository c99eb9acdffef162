import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { registrationErrorHandler } from './refusal.js'

/** Registration answers carry client secrets and registration tokens: never cached (RFC 7591 §3.2.1). */
function noStore (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  done()
}

/**
 * Dynamic client registration (RFC 7591, and RFC 7592 management under /:clientId): every
 * failure is an RFC 7591 error body, and no answer is cached. The rate limit stays on each
 * route, as each has its own count.
 */
export default async function registration (fastify: FastifyInstance): Promise<void> {
  fastify.setErrorHandler(registrationErrorHandler)
  fastify.addHook('onRequest', noStore)
}
