import fp from 'fastify-plugin'
import { Registry, collectDefaultMetrics } from 'prom-client'
import type { onResponseHookHandler } from 'fastify'
import { HotCounter, HotHistogram, type HistogramState } from '../lib/metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: {
      registry: Registry
      /** Counts MCP tool calls by tool and outcome. */
      toolCalls: { inc: (tool: string, outcome: string) => void }
    }
  }
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

/** Prometheus metrics: request counts and latencies by route and status, plus process metrics. */
export default fp(async function metrics (fastify) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  type HttpLabel = 'method' | 'route' | 'status'
  const requests = new HotCounter<HttpLabel>('http_requests_total', 'HTTP requests by method, route and status', registry)
  const duration = new HotHistogram<HttpLabel>('http_request_duration_seconds', 'HTTP request latency by method, route and status', LATENCY_BUCKETS, registry)
  const toolCalls = new HotCounter<'tool' | 'outcome'>('mcp_tool_calls_total', 'MCP tool calls by tool and outcome', registry)

  fastify.decorate('metrics', {
    registry,
    toolCalls: {
      inc (tool: string, outcome: string) {
        toolCalls.inc(`${tool}\n${outcome}`, () => ({ tool, outcome }))
      }
    }
  })

  /**
   * What each request records, found without building anything per request: one recorder per
   * route, made when the route is added (so the route's pattern is known without reading
   * `request.routeOptions`, which builds a new object on every access), holding its series by
   * method and status. Unknown paths all count as `unmatched`: they must not create new series.
   */
  interface Series { count: { count: number }, latency: HistogramState }
  function recorder (route: string): (method: string, status: number, elapsedMs: number) => void {
    const byMethod = new Map<string, Map<number, Series>>()
    return function record (method, status, elapsedMs) {
      let byStatus = byMethod.get(method)
      if (byStatus === undefined) {
        byStatus = new Map()
        byMethod.set(method, byStatus)
      }
      let series = byStatus.get(status)
      if (series === undefined) {
        const key = `${method} ${status} ${route}`
        const labels = (): Record<HttpLabel, string> => ({ method, route, status: String(status) })
        series = { count: requests.find(key, labels), latency: duration.find(key, labels) }
        byStatus.set(status, series)
      }
      HotCounter.add(series.count)
      duration.observeInto(series.latency, elapsedMs / 1000)
    }
  }

  fastify.addHook('onRoute', function (routeOptions) {
    const record = recorder(routeOptions.url)
    const hook: onResponseHookHandler = function (request, reply, done) {
      record(request.method, reply.statusCode, reply.elapsedTime)
      done()
    }
    const existing = routeOptions.onResponse
    routeOptions.onResponse = existing === undefined ? [hook] : [...(Array.isArray(existing) ? existing : [existing]), hook]
  })

  const unmatched = recorder('unmatched')
  fastify.addHook('onResponse', function (request, reply, done) {
    if (request.is404) unmatched(request.method, reply.statusCode, reply.elapsedTime)
    done()
  })
}, { name: 'metrics', fastify: '5.x' })
