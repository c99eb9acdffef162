/**
 * The README's "Performance" table from a results.json, so the text always matches a run:
 *
 *   node --import tsx bench/report.ts [bench/results.json]
 */
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { fmt, markdownTable, type ScenarioSummary } from './stats.js'

export interface Results {
  generatedAt: string
  command: string
  settings: { rounds: number, duration: number, warmup: number, connections: number }
  machine: { cpus: number, cpuModel: string, memoryGiB: number, node: string, platform: string }
  toolsListBytes: number
  baseline: { rps: number, p50: number, p99: number, cpuUs?: number | null }
  scenarios: ScenarioSummary[]
  skipped: Array<{ id: string, title: string, reason: string }>
  memory: { sqliteHwmMiB: number | null, postgresHwmMiB: number | null }
  passwordHashing: { sequentialPerSecond: number, parallelPerSecond: number, parallelism: number }
  targetsMet: { met: number, of: number }
}

/** Markdown: the run's table and the facts a reader needs to judge it. */
export function resultsMarkdown (r: Results): string {
  const lines = [
    `Run of ${r.generatedAt.slice(0, 16).replace('T', ' ')} UTC: \`${r.command}\` — ${r.settings.rounds} rounds × ${r.settings.duration} s per scenario and per baseline run, alternating, ` +
      `${r.settings.connections} connections, after ${r.settings.warmup} s of warm-up each. Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ` +
      `${r.machine.memoryGiB} GiB, Node ${r.machine.node}, ${r.machine.platform} (load generator on the same machine).`,
    '',
    markdownTable(r.baseline, r.scenarios),
    '',
    '- Ratio: median req/s of the scenario ÷ median req/s of the bare Fastify runs that followed it. ' +
      'Server CPU µs/req: user + system CPU time of the server process per answered request (from /proc); in brackets the ratio that CPU cost alone would give.',
    `- Baseline: one Fastify POST route, JSON body parsed, a constant ${fmt(r.toolsListBytes)}-byte JSON-RPC reply (the size of our \`tools/list\` for a token holding every scope); no logger.`,
    `- Peak RSS of the service (VmHWM over the whole run): ${fmt(r.memory.sqliteHwmMiB)} MiB on SQLite${r.memory.postgresHwmMiB !== null ? `, ${fmt(r.memory.postgresHwmMiB)} MiB on PostgreSQL` : ''}.`,
    `- Password hashing (scrypt, N = 32768, \`lib/crypto.ts\`): ${fmt(r.passwordHashing.sequentialPerSecond, 1)} hashes/s one at a time, ${fmt(r.passwordHashing.parallelPerSecond, 1)}/s with ${r.passwordHashing.parallelism} in flight — why scenario 4 adds users without a password.`,
    `- Targets met: ${r.targetsMet.met} of ${r.targetsMet.of}.`
  ]
  for (const s of r.skipped) lines.push(`- Not run: ${s.id} (${s.title}): ${s.reason}.`)
  return lines.join('\n') + '\n'
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2] ?? new URL('./results.json', import.meta.url).pathname
  process.stdout.write(resultsMarkdown(JSON.parse(readFileSync(file, 'utf8')) as Results))
}
