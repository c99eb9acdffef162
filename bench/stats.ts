/**
 * The benchmark's pure pieces: statistics over rounds, verdicts against the targets, the
 * console table and the SVG chart. No I/O here, so test/bench can check all of it.
 */

/** What a scenario must reach (its performance target); absent fields mean "report only". */
export interface Target {
  /** Minimum ratio of the scenario's requests/s to the bare baseline's. */
  ratio?: number
  /** Maximum p99 latency, in milliseconds. */
  p99?: number
  /** Maximum resident set size of the server while the scenario runs, in MiB. */
  rssMiB?: number
  /**
   * The scenario this one must keep up with (the same work sent another way): its ratio to the
   * baseline at least {@link TWIN_NOISE} of the twin's. Checked when both ran.
   */
  twin?: string
  /** How much of its twin's ratio this scenario must keep, when not {@link TWIN_NOISE}. */
  ofTwin?: number
}

/**
 * How far below its twin a scenario may fall and still count as "within the noise": run-to-run
 * spread of one scenario's baseline ratio on a shared two-core machine, load generator included,
 * is several per cent.
 */
export const TWIN_NOISE = 0.9

/** One autocannon run, reduced to what the report needs. */
export interface RunSample {
  /** Requests per second over the whole run. */
  rps: number
  p50: number
  p99: number
  /** Responses whose status was not the one the scenario expects, plus socket errors and timeouts. */
  unexpected: number
  total: number
  /** Server CPU time (user + system) per answered request, in microseconds; null if unknown. */
  cpuUs?: number | null
}

export interface ScenarioSummary {
  id: string
  title: string
  target: Target
  /** Median requests/s over the rounds. */
  rps: number
  p50: number
  p99: number
  /** The paired baseline's median requests/s (the B runs that followed this scenario's A runs). */
  baselineRps: number
  ratio: number
  /** Median server CPU time per request, in µs, and the baseline's: steadier than req/s on a shared machine. */
  cpuUs: number | null
  baselineCpuUs: number | null
  /** baselineCpuUs / cpuUs: the throughput ratio the CPU cost alone would give. */
  cpuRatio: number
  /** Highest resident set size of the server sampled while this scenario ran, in MiB. */
  peakRssMiB: number | null
  /** Share of responses that were not what the scenario expects (0..1). */
  unexpectedShare: number
  rounds: RunSample[]
  /** null when the scenario has no target. */
  pass: boolean | null
  /** Why it missed, in words; empty when it passed or has no target. */
  misses: string[]
  /** This scenario's ratio ÷ its twin's, once {@link compareTwins} has seen both; else absent. */
  twinRatio?: number
}

export function median (values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** `value / baseline`, or NaN when the baseline is not a positive number. */
export function ratio (value: number, baseline: number): number {
  if (!(baseline > 0) || !Number.isFinite(value)) return Number.NaN
  return value / baseline
}

/** Whether a measurement meets its target, and what missed. */
export function verdict (target: Target, measured: { ratio: number, p99: number, peakRssMiB?: number | null }, unexpectedShare = 0): { pass: boolean | null, misses: string[] } {
  const misses: string[] = []
  // A run whose answers were wrong (401s where 200s were expected, 429s, errors) proves nothing.
  if (unexpectedShare > 0.001) misses.push(`${(unexpectedShare * 100).toFixed(1)} % unexpected responses`)
  if (target.ratio !== undefined && !(measured.ratio >= target.ratio)) misses.push(`ratio ${fmt(measured.ratio, 2)} < ${target.ratio}`)
  if (target.p99 !== undefined && !(measured.p99 <= target.p99)) misses.push(`p99 ${fmt(measured.p99, 1)} ms > ${target.p99} ms`)
  const rss = measured.peakRssMiB
  if (target.rssMiB !== undefined && rss !== undefined && rss !== null && rss > target.rssMiB) misses.push(`RSS ${fmt(rss)} MiB > ${target.rssMiB} MiB`)
  const hasTarget = target.ratio !== undefined || target.p99 !== undefined || target.rssMiB !== undefined
  if (!hasTarget) return { pass: misses.length === 0 ? null : false, misses }
  return { pass: misses.length === 0, misses }
}

/**
 * Reduces one scenario's rounds and its paired baseline rounds to medians and a verdict. The
 * ratio compares medians, so one disturbed round on either side does not decide it.
 */
export function summarize (
  scenario: { id: string, title: string, target: Target },
  rounds: readonly RunSample[],
  baselineRounds: readonly RunSample[],
  peakRssMiB: number | null = null
): ScenarioSummary {
  const rps = median(rounds.map(r => r.rps))
  const baselineRps = median(baselineRounds.map(r => r.rps))
  const p50 = median(rounds.map(r => r.p50))
  const p99 = median(rounds.map(r => r.p99))
  const total = rounds.reduce((n, r) => n + r.total, 0)
  const unexpected = rounds.reduce((n, r) => n + r.unexpected, 0)
  const unexpectedShare = total > 0 ? unexpected / total : 1
  const r = ratio(rps, baselineRps)
  const cpu = (samples: readonly RunSample[]): number | null => {
    const known = samples.map(x => x.cpuUs).filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
    return known.length > 0 ? median(known) : null
  }
  const cpuUs = cpu(rounds)
  const baselineCpuUs = cpu(baselineRounds)
  const cpuRatio = cpuUs !== null && baselineCpuUs !== null ? ratio(baselineCpuUs, cpuUs) : Number.NaN
  const { pass, misses } = verdict(scenario.target, { ratio: r, p99, peakRssMiB }, unexpectedShare)
  return { ...scenario, rps, p50, p99, baselineRps, ratio: r, cpuUs, baselineCpuUs, cpuRatio, peakRssMiB, unexpectedShare, rounds: [...rounds], pass, misses }
}

/**
 * Checks each scenario that names a twin against that twin's summary: records the ratio of their
 * baseline ratios (machine drift cancels, as each was paired with its own baseline runs) and
 * turns a fall below {@link TWIN_NOISE} into a miss. A twin that did not run decides nothing.
 */
export function compareTwins (summaries: readonly ScenarioSummary[]): ScenarioSummary[] {
  const byId = new Map(summaries.map(s => [s.id, s]))
  return summaries.map(s => {
    const twin = s.target.twin === undefined ? undefined : byId.get(s.target.twin)
    if (twin === undefined) return s
    const twinRatio = ratio(s.ratio, twin.ratio)
    const least = s.target.ofTwin ?? TWIN_NOISE
    if (twinRatio >= least) return { ...s, twinRatio }
    return { ...s, twinRatio, pass: false, misses: [...s.misses, `${fmt(twinRatio, 2)} of ${twin.id} < ${least}`] }
  })
}

export function fmt (value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–'
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function targetText (target: Target): string {
  const parts: string[] = []
  if (target.ratio !== undefined) parts.push(`≥ ${target.ratio.toFixed(2)}`)
  if (target.p99 !== undefined) parts.push(`p99 ≤ ${target.p99} ms`)
  if (parts.length === 0) parts.push('report')
  if (target.rssMiB !== undefined) parts.push(`RSS ≤ ${target.rssMiB}`)
  if (target.twin !== undefined) parts.push(`≥ ${(target.ofTwin ?? TWIN_NOISE).toFixed(2)} of ${target.twin}`)
  return parts.join(', ')
}

function passText (s: ScenarioSummary): string {
  if (s.pass === null) return '—'
  return s.pass ? 'pass' : `MISS (${s.misses.join('; ')})`
}

/** The results as a Markdown table (it reads well in a terminal too). */
export function markdownTable (baseline: { rps: number, p50: number, p99: number, cpuUs?: number | null }, scenarios: readonly ScenarioSummary[]): string {
  const rows = [
    '| # | scenario | req/s (median) | p50 ms | p99 ms | ratio | target | server CPU µs/req (ratio) | peak RSS MiB | result |',
    '|---|---|---:|---:|---:|---:|---|---:|---:|---|',
    `| B | bare Fastify baseline | ${fmt(baseline.rps)} | ${fmt(baseline.p50)} | ${fmt(baseline.p99)} | 1.00 | | ${fmt(baseline.cpuUs)} | | |`
  ]
  for (const s of scenarios) {
    rows.push(`| ${s.id} | ${s.title} | ${fmt(s.rps)} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fmt(s.ratio, 2)}${s.twinRatio !== undefined ? ` (${fmt(s.twinRatio, 2)} of ${s.target.twin ?? ''})` : ''} | ${targetText(s.target)} | ${fmt(s.cpuUs)} (${fmt(s.cpuRatio, 2)}) | ${fmt(s.peakRssMiB)} | ${passText(s)} |`)
  }
  return rows.join('\n')
}

function escapeXml (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

export interface ChartOptions {
  title: string
  subtitle?: string
  width?: number
  height?: number
}

/**
 * A bar per scenario: its ratio to the bare baseline, coloured by verdict, with its target as a
 * dashed line across the bar's slot and the baseline (1.0) as a grey rule. Hand-written SVG.
 */
export function renderSvg (scenarios: readonly ScenarioSummary[], options: ChartOptions): string {
  const width = options.width ?? 760
  const height = options.height ?? 400
  const left = 48
  const right = 16
  const top = 80
  const bottom = 78
  const plotW = width - left - right
  const plotH = height - top - bottom
  const highest = Math.max(1, ...scenarios.map(s => Number.isFinite(s.ratio) ? s.ratio : 0), ...scenarios.map(s => s.target.ratio ?? 0))
  const yMax = Math.ceil(highest * 1.1 * 5) / 5
  const y = (v: number): number => top + plotH - (Math.max(0, v) / yMax) * plotH
  const slot = scenarios.length > 0 ? plotW / scenarios.length : plotW
  const barW = Math.min(56, slot * 0.6)
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`)
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`)
  out.push(`<text x="${left}" y="24" font-size="16" font-weight="bold" fill="#222">${escapeXml(options.title)}</text>`)
  if (options.subtitle !== undefined) out.push(`<text x="${left}" y="44" font-size="11" fill="#555">${escapeXml(options.subtitle)}</text>`)
  // Grid and axis labels every 0.2.
  for (let v = 0; v <= yMax + 1e-9; v = Math.round((v + 0.2) * 10) / 10) {
    const gy = y(v).toFixed(1)
    out.push(`<line x1="${left}" x2="${width - right}" y1="${gy}" y2="${gy}" stroke="#eee"/>`)
    out.push(`<text x="${left - 6}" y="${gy}" font-size="10" fill="#666" text-anchor="end" dominant-baseline="middle">${v.toFixed(1)}</text>`)
  }
  const one = y(1).toFixed(1)
  out.push(`<line x1="${left}" x2="${width - right}" y1="${one}" y2="${one}" stroke="#888" stroke-width="1.5"/>`)
  scenarios.forEach((s, i) => {
    const cx = left + slot * i + slot / 2
    const value = Number.isFinite(s.ratio) ? s.ratio : 0
    // Grey: no ratio target (report only), unless something else it must meet was missed.
    const colour = s.pass === false ? '#d1453b' : s.target.ratio === undefined || s.pass === null ? '#8c8c8c' : '#2e9d52'
    const by = y(value)
    out.push(`<rect x="${(cx - barW / 2).toFixed(1)}" y="${by.toFixed(1)}" width="${barW.toFixed(1)}" height="${(top + plotH - by).toFixed(1)}" fill="${colour}"><title>${escapeXml(`${s.id} ${s.title}: ${fmt(s.ratio, 2)}`)}</title></rect>`)
    // A white halo keeps the value readable where it crosses a target line.
    out.push(`<text x="${cx.toFixed(1)}" y="${(by - 5).toFixed(1)}" font-size="11" font-weight="bold" fill="#222" stroke="#fff" stroke-width="3" paint-order="stroke" text-anchor="middle">${fmt(s.ratio, 2)}</text>`)
    if (Number.isFinite(s.cpuRatio)) {
      // The ratio the server's CPU cost per request alone would give: steadier on a busy machine.
      const dy = y(s.cpuRatio)
      out.push(`<path d="M ${(cx + barW / 2 + 7).toFixed(1)} ${(dy - 5).toFixed(1)} l 5 5 l -5 5 l -5 -5 z" fill="#333"><title>${escapeXml(`${s.id} CPU-cost ratio: ${fmt(s.cpuRatio, 2)}`)}</title></path>`)
    }
    if (s.target.ratio !== undefined) {
      const ty = y(s.target.ratio).toFixed(1)
      out.push(`<line x1="${(cx - slot / 2 + 4).toFixed(1)}" x2="${(cx + slot / 2 - 4).toFixed(1)}" y1="${ty}" y2="${ty}" stroke="#1f4e9c" stroke-width="2" stroke-dasharray="5 3"/>`)
    }
    out.push(`<text x="${cx.toFixed(1)}" y="${top + plotH + 16}" font-size="11" font-weight="bold" fill="#222" text-anchor="middle">${escapeXml(s.id)}</text>`)
    wrap(s.title, 16).slice(0, 3).forEach((line, k) => {
      out.push(`<text x="${cx.toFixed(1)}" y="${top + plotH + 30 + k * 12}" font-size="9.5" fill="#444" text-anchor="middle">${escapeXml(line)}</text>`)
    })
  })
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#444"/>`)
  out.push(`<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#444"/>`)
  const ly = 62
  const lx = left
  out.push(`<rect x="${lx}" y="${ly - 8}" width="10" height="10" fill="#2e9d52"/><text x="${lx + 14}" y="${ly + 1}" font-size="10" fill="#444">meets its targets</text>`)
  out.push(`<rect x="${lx + 110}" y="${ly - 8}" width="10" height="10" fill="#d1453b"/><text x="${lx + 124}" y="${ly + 1}" font-size="10" fill="#444">misses one</text>`)
  out.push(`<rect x="${lx + 200}" y="${ly - 8}" width="10" height="10" fill="#8c8c8c"/><text x="${lx + 214}" y="${ly + 1}" font-size="10" fill="#444">no ratio target</text>`)
  out.push(`<line x1="${lx + 300}" x2="${lx + 322}" y1="${ly - 3}" y2="${ly - 3}" stroke="#1f4e9c" stroke-width="2" stroke-dasharray="5 3"/><text x="${lx + 326}" y="${ly + 1}" font-size="10" fill="#444">target ratio</text>`)
  out.push(`<line x1="${lx + 400}" x2="${lx + 422}" y1="${ly - 3}" y2="${ly - 3}" stroke="#888" stroke-width="1.5"/><text x="${lx + 426}" y="${ly + 1}" font-size="10" fill="#444">bare Fastify (1.0)</text>`)
  out.push(`<path d="M ${lx + 530} ${ly - 8} l 5 5 l -5 5 l -5 -5 z" fill="#333"/><text x="${lx + 540}" y="${ly + 1}" font-size="10" fill="#444">server CPU-cost ratio</text>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}

/** Greedy word wrap for chart labels. */
export function wrap (text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line === '') line = word
    else if (line.length + 1 + word.length <= width) line += ` ${word}`
    else { lines.push(line); line = word }
  }
  if (line !== '') lines.push(line)
  return lines
}

/** VmRSS and VmHWM from the text of /proc/<pid>/status, in MiB. */
export function parseProcStatus (status: string): { rssMiB: number, hwmMiB: number } | null {
  const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)
  if (rss === null || hwm === null) return null
  return { rssMiB: Number(rss[1]) / 1024, hwmMiB: Number(hwm[1]) / 1024 }
}

/**
 * CPU time a process has used (user + system), in milliseconds, from the text of
 * /proc/<pid>/stat (fields 14 and 15, in clock ticks). The command name may hold spaces and
 * parentheses, so fields are counted from the last ")".
 */
export function parseProcStat (stat: string, ticksPerSecond = 100): number | null {
  const end = stat.lastIndexOf(')')
  if (end < 0) return null
  const fields = stat.slice(end + 2).trim().split(/\s+/)
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null
  return ((utime + stime) * 1000) / ticksPerSecond
}
