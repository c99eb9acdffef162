import fp from 'fastify-plugin'

/**
 * The access log: one `info` line per answered request, with its method, URL (secret query
 * values masked by the logger's serializer), client address, status and duration. Fastify's
 * own request logging (a line on arrival and one on completion) is off: half the lines for the
 * same facts, on a path every MCP call takes.
 */
export default fp(async function requestLog (fastify) {
  fastify.addHook('onResponse', function (request, reply, done) {
    request.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
    done()
  })
}, { name: 'request-log', fastify: '5.x' })
