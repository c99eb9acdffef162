import type { Metric, Registry } from 'prom-client'

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
