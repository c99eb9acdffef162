import { Registry, collectDefaultMetrics, type Metric } from 'prom-client'

/**
 * Counters and histograms for the per-request hot path, exposed through a prom-client registry.
 *
 * prom-client hashes the label object on every `inc`/`observe`, even through a labelled child
 * (about 4 % of a `tools/list` request's CPU when profiled under load). Here a series is found once by
 * a string key and then updated with plain additions; prom-client only formats the values when
 * `/metrics` is scraped, through the same `get()` contract its own metrics implement.
 */

type Labels<L extends string> = Record<L, string>

interface PromValue {
  value: number
  labels: Record<string, string | number>
  metricName?: string
}

abstract class HotMetric<L extends string, S> {
  protected readonly series = new Map<string, { labels: Labels<L>, state: S }>()
  readonly aggregator = 'sum'

  constructor (readonly name: string, readonly help: string, readonly type: 'counter' | 'histogram', registry: Registry) {
    registry.registerMetric(this as unknown as Metric)
  }

  /**
   * The series for `key`, created with `labels()` the first time (called only then). A caller
   * may keep it and pass it to `inc`/`observe` itself: series live as long as the metric.
   */
  find (key: string, labels: () => Labels<L>): S {
    let entry = this.series.get(key)
    if (entry === undefined) {
      entry = { labels: labels(), state: this.initial() }
      this.series.set(key, entry)
    }
    return entry.state
  }

  protected abstract initial (): S
  protected abstract values (labels: Labels<L>, state: S): PromValue[]

  /** prom-client's metric contract: what the registry formats. */
  get (): { name: string, help: string, type: string, aggregator: string, values: PromValue[] } {
    const values: PromValue[] = []
    for (const { labels, state } of this.series.values()) values.push(...this.values(labels, state))
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }
}

/** A counter whose series are found by a caller-built string key. */
export class HotCounter<L extends string> extends HotMetric<L, { count: number }> {
  constructor (name: string, help: string, registry: Registry) {
    super(name, help, 'counter', registry)
  }

  inc (key: string, labels: () => Labels<L>, by = 1): void {
    this.find(key, labels).count += by
  }

  static add (series: { count: number }, by = 1): void {
    series.count += by
  }

  protected initial (): { count: number } { return { count: 0 } }
  protected values (labels: Labels<L>, state: { count: number }): PromValue[] {
    return [{ value: state.count, labels }]
  }
}

export interface HistogramState { counts: Float64Array, sum: number, count: number }

/** A histogram (cumulative buckets, `_sum`, `_count`) whose series are found by a string key. */
export class HotHistogram<L extends string> extends HotMetric<L, HistogramState> {
  private readonly bounds: readonly number[]

  constructor (name: string, help: string, buckets: readonly number[], registry: Registry) {
    super(name, help, 'histogram', registry)
    this.bounds = [...buckets].sort((a, b) => a - b)
  }

  observe (key: string, labels: () => Labels<L>, value: number): void {
    this.observeInto(this.find(key, labels), value)
  }

  /** Records `value` in a series `find` returned. */
  observeInto (state: HistogramState, value: number): void {
    const { bounds } = this
    let i = 0
    while (i < bounds.length && value > bounds[i]) i++
    state.counts[i]++
    state.sum += value
    state.count++
  }

  protected initial (): HistogramState {
    return { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 }
  }

  protected values (labels: Labels<L>, state: HistogramState): PromValue[] {
    const out: PromValue[] = []
    let cumulative = 0
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += state.counts[i]
      out.push({ metricName: `${this.name}_bucket`, value: cumulative, labels: { le: this.bounds[i], ...labels } })
    }
    out.push({ metricName: `${this.name}_bucket`, value: state.count, labels: { le: '+Inf', ...labels } })
    out.push({ metricName: `${this.name}_sum`, value: state.sum, labels })
    out.push({ metricName: `${this.name}_count`, value: state.count, labels })
    return out
  }
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

/** Records one answered request: its method, status and time to answer. */
export type RequestRecorder = (method: string, status: number, elapsedMs: number) => void

export interface ServiceMetrics {
  registry: Registry
  /** Counts MCP tool calls by tool and outcome. */
  toolCalls: { inc: (tool: string, outcome: string) => void }
  /**
   * The recorder of one route (its pattern; `unmatched` for unknown paths, which must not
   * create new series), holding its series by method and status.
   */
  requests: (route: string) => RequestRecorder
}

/** Prometheus metrics: request counts and latencies by route and status, tool calls, process metrics. */
export function createMetrics (): ServiceMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  type HttpLabel = 'method' | 'route' | 'status'
  const requests = new HotCounter<HttpLabel>('http_requests_total', 'HTTP requests by method, route and status', registry)
  const duration = new HotHistogram<HttpLabel>('http_request_duration_seconds', 'HTTP request latency by method, route and status', LATENCY_BUCKETS, registry)
  const toolCalls = new HotCounter<'tool' | 'outcome'>('mcp_tool_calls_total', 'MCP tool calls by tool and outcome', registry)

  /**
   * What each request records, found without building anything per request: one recorder per
   * route, made when the route is added, holding its series by method and status.
   */
  interface Series { count: { count: number }, latency: HistogramState }
  function recorder (route: string): RequestRecorder {
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

  return {
    registry,
    toolCalls: {
      inc (tool: string, outcome: string) {
        toolCalls.inc(`${tool}\n${outcome}`, () => ({ tool, outcome }))
      }
    },
    requests: recorder
  }
}
