import fp from 'fastify-plugin'
import { Registry, Counter, Histogram, collectDefaultMetrics } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: {
      registry: Registry
      /** Counts MCP tool calls by tool and outcome. */
      toolCalls: Counter<'tool' | 'outcome'>
    }
  }
}

/** Prometheus metrics: request counts and latencies by route and status, plus process metrics. */
export default fp(async function metrics (fastify) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry]
  })
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry]
  })
  const toolCalls = new Counter({
    name: 'mcp_tool_calls_total',
    help: 'MCP tool calls by tool and outcome',
    labelNames: ['tool', 'outcome'] as const,
    registers: [registry]
  })

  fastify.decorate('metrics', { registry, toolCalls })

  // One labelled child per method, route and status, found by a string key: prom-client would
  // otherwise hash the label object on every request.
  const series = new Map<string, { count: ReturnType<typeof requests.labels>, latency: ReturnType<typeof duration.labels> }>()

  fastify.addHook('onResponse', function (request, reply, done) {
    // The route's pattern, not the raw URL: unknown paths must not create new series.
    const route = request.routeOptions.url ?? 'unmatched'
    const key = `${request.method} ${reply.statusCode} ${route}`
    let child = series.get(key)
    if (child === undefined) {
      const labels = { method: request.method, route, status: String(reply.statusCode) }
      child = { count: requests.labels(labels), latency: duration.labels(labels) }
      series.set(key, child)
    }
    child.count.inc()
    child.latency.observe(reply.elapsedTime / 1000)
    done()
  })
}, { name: 'metrics', fastify: '5.x' })
