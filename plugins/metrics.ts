import fp from 'fastify-plugin'
import type { Registry } from 'prom-client'
import type { onResponseHookHandler } from 'fastify'
import { createMetrics } from '../lib/metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: {
      registry: Registry
      /** Counts MCP tool calls by tool and outcome. */
      toolCalls: { inc: (tool: string, outcome: string) => void }
    }
  }
}

/** Prometheus metrics (lib/metrics.ts), and every response recorded by route and status. */
export default fp(async function metrics (fastify) {
  const { registry, toolCalls, requests } = createMetrics()
  fastify.decorate('metrics', { registry, toolCalls })

  // One recorder per route, made when the route is added: its pattern is known without reading
  // `request.routeOptions`, which builds a new object on every access.
  fastify.addHook('onRoute', function (routeOptions) {
    const record = requests(routeOptions.url)
    const hook: onResponseHookHandler = function (request, reply, done) {
      record(request.method, reply.statusCode, reply.elapsedTime)
      done()
    }
    const existing = routeOptions.onResponse
    routeOptions.onResponse = existing === undefined ? [hook] : [...(Array.isArray(existing) ? existing : [existing]), hook]
  })

  // Unknown paths all count as `unmatched`: they must not create new series.
  const unmatched = requests('unmatched')
  fastify.addHook('onResponse', function (request, reply, done) {
    if (request.is404) unmatched(request.method, reply.statusCode, reply.elapsedTime)
    done()
  })
}, { name: 'metrics', fastify: '5.x' })
