import fp from 'fastify-plugin'
import { redactUrl } from '../lib/logger.js'

/**
 * The access log: one `info` line per answered request — request id, method, URL (secret query
 * values masked), client address, status and duration — as flat fields, written through the
 * root logger. Fastify's own request logging (a line on arrival and one on completion) is off:
 * half the lines for the same facts, on a path every MCP call takes; and a request that logs
 * nothing else never builds its child logger (lib/logger.ts, `lazyChildLogger`).
 */
export default fp(async function requestLog (fastify) {
  const log = fastify.log
  fastify.addHook('onResponse', function (request, reply, done) {
    log.info({
      reqId: request.id,
      method: request.method,
      url: redactUrl(request.url),
      remoteAddress: request.ip,
      statusCode: reply.statusCode,
      responseTime: reply.elapsedTime
    }, 'request completed')
    done()
  })
}, { name: 'request-log', fastify: '5.x' })
