/**
 * Where the time goes in a `--cpu-prof` profile: the top functions by self time, and self time
 * summed by package / project folder.
 *
 *   BENCH_CPU_PROF=/tmp/prof BENCH_SCENARIOS=5 npm run bench
 *   node --import tsx bench/profile-summary.ts /tmp/prof/iam-sqlite-*.cpuprofile [top]
 */
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

export interface Row { name: string, ms: number, share: number }

/** Self time per node id, in microseconds, from the sample stream. */
function selfTimes (profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + Math.max(0, delta))
  }
  return self
}

/** Which package (node_modules/<pkg>) or project folder a script belongs to. */
export function area (url: string): string {
  if (url === '') return '(native / VM)'
  if (url.startsWith('node:')) return url
  const nm = url.lastIndexOf('node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  const dist = url.indexOf('/dist/')
  if (dist >= 0) {
    const rest = url.slice(dist + '/dist/'.length).split('/')
    return rest.length > 1 ? `${rest[0]}/${rest.length > 2 ? `${rest[1]}/` : rest[1]}` : rest[0]
  }
  return url.replace(/^file:\/\//, '')
}

export function summarizeProfile (profile: CpuProfile, top = 25): { totalMs: number, functions: Row[], areas: Row[] } {
  const self = selfTimes(profile)
  // Idle time is the server waiting for work: left out, so shares are of busy time.
  for (const node of profile.nodes) if (node.callFrame.functionName === '(idle)') self.delete(node.id)
  let total = 0
  for (const v of self.values()) total += v
  const byFunction = new Map<string, number>()
  const byArea = new Map<string, number>()
  for (const node of profile.nodes) {
    const t = self.get(node.id) ?? 0
    if (t === 0) continue
    const { functionName, url, lineNumber } = node.callFrame
    const file = url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|dist)\//, '$1/')
    const key = `${functionName || '(anonymous)'} ${file !== '' ? `${file}:${lineNumber + 1}` : ''}`.trim()
    byFunction.set(key, (byFunction.get(key) ?? 0) + t)
    const a = area(url)
    byArea.set(a, (byArea.get(a) ?? 0) + t)
  }
  const rows = (m: Map<string, number>): Row[] => [...m.entries()]
    .sort((x, y) => y[1] - x[1]).slice(0, top)
    .map(([name, us]) => ({ name, ms: us / 1000, share: total > 0 ? us / total : 0 }))
  return { totalMs: total / 1000, functions: rows(byFunction), areas: rows(byArea) }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2]
  if (file === undefined) {
    process.stderr.write('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]\n')
    process.exit(2)
  }
  const top = Number(process.argv[3] ?? 30)
  const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top)
  const pct = (r: Row): string => `${(r.share * 100).toFixed(1).padStart(5)} %  ${r.ms.toFixed(0).padStart(7)} ms`
  process.stdout.write(`total sampled: ${summary.totalMs.toFixed(0)} ms\n\nself time by area:\n`)
  for (const r of summary.areas) process.stdout.write(`  ${pct(r)}  ${r.name}\n`)
  process.stdout.write('\nself time by function:\n')
  for (const r of summary.functions) process.stdout.write(`  ${pct(r)}  ${r.name}\n`)
}
