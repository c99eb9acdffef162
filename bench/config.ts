/**
 * The benchmark's settings (env knobs) and its scenario catalogue with their performance targets.
 */
import type { Target } from './stats.js'

export interface BenchSettings {
  /** A B rounds (scenario, then baseline); at least 3, so a median means something. */
  rounds: number
  /** Seconds per measured run. */
  duration: number
  /** Seconds of unrecorded load per scenario and for the baseline before the rounds. */
  warmup: number
  connections: number
  /** Scenario ids to run (all when empty). */
  only: string[]
  /** `auto`: the PostgreSQL write scenario runs when PostgreSQL answers; `off`: never. */
  postgres: 'auto' | 'off'
  postgresUrl: string
  /** Folder that gets results.json and results.svg. */
  outDir: string
  /** File for the service's stdout/stderr (its request log); null = /dev/null. */
  serverLog: string | null
  /** Folder for `--cpu-prof` profiles of the service; null = no profiling. */
  cpuProfDir: string | null
  /** Seconds spent timing password hashes. */
  hashSeconds: number
  /** Extra `node` arguments for the service (e.g. `--trace-gc`); none by default. */
  nodeArgs: string[]
  /**
   * Settings for the service on top of the bench's own (`KEY=VALUE,…`), to measure what one
   * costs (e.g. `LOG_LEVEL=warn`); a changed run is not the one the targets were set for.
   */
  serverEnv: Record<string, string>
}

function serverEnv (raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of (raw ?? '').split(',').map(s => s.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=')
    if (eq <= 0 || !/^[A-Z][A-Z0-9_]*$/.test(pair.slice(0, eq))) throw new Error(`BENCH_SERVER_ENV: "${pair}" is not KEY=VALUE`)
    out[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return out
}

function num (env: Record<string, string | undefined>, key: string, fallback: number, min: number): number {
  const raw = env[key]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < min) throw new Error(`${key} must be a number ≥ ${min} (got ${JSON.stringify(raw)})`)
  return value
}

/**
 * The node arguments `npm start` runs the service with (package.json; test/bench/harness.test.ts
 * keeps the two the same), so that the bench measures the service as it is run. A young
 * generation capped at 8 MiB semi-spaces instead of V8's 16: about 20 MiB less RSS under load,
 * the same throughput (measured on scenarios 1, 4 and 8).
 */
export const SERVICE_NODE_ARGS: readonly string[] = ['--max-semi-space-size=8']

export function benchSettings (env: Record<string, string | undefined>, defaultOutDir: string): BenchSettings {
  const postgres = env.BENCH_PG ?? 'auto'
  if (postgres !== 'auto' && postgres !== 'off') throw new Error(`BENCH_PG must be "auto" or "off" (got ${JSON.stringify(postgres)})`)
  return {
    rounds: Math.floor(num(env, 'BENCH_ROUNDS', 3, 1)),
    duration: num(env, 'BENCH_DURATION', 10, 1),
    warmup: num(env, 'BENCH_WARMUP', 3, 0),
    connections: Math.floor(num(env, 'BENCH_CONNECTIONS', 50, 1)),
    only: (env.BENCH_SCENARIOS ?? '').split(',').map(s => s.trim()).filter(Boolean),
    postgres,
    postgresUrl: env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    outDir: env.BENCH_OUT ?? defaultOutDir,
    serverLog: env.BENCH_SERVER_LOG !== undefined && env.BENCH_SERVER_LOG !== '' ? env.BENCH_SERVER_LOG : null,
    cpuProfDir: env.BENCH_CPU_PROF !== undefined && env.BENCH_CPU_PROF !== '' ? env.BENCH_CPU_PROF : null,
    hashSeconds: num(env, 'BENCH_HASH_SECONDS', 2, 0),
    nodeArgs: [...SERVICE_NODE_ARGS, ...(env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)],
    serverEnv: serverEnv(env.BENCH_SERVER_ENV)
  }
}

/** Distinct tokens scenario 8 presents (BENCH_MANY_TOKENS; minted through the token endpoint before the runs). */
export const MANY_TOKENS = Math.floor(Number(process.env.BENCH_MANY_TOKENS ?? 100_000))

/** Peak RSS allowed under every scenario: the service must fit a small instance. */
export const RSS_LIMIT_MIB = 200

export interface ScenarioSpec {
  id: string
  title: string
  target: Target
  /** The HTTP status every response must have. */
  status: number
  /** Which server it runs against. */
  engine: 'sqlite' | 'postgres'
}

/** The benchmark's scenarios, in the order they run in each round. */
export const SCENARIOS: readonly ScenarioSpec[] = [
  { id: '1', title: 'tools/list, bearer, every scope', target: { ratio: 0.8, p99: 10, rssMiB: RSS_LIMIT_MIB }, status: 200, engine: 'sqlite' },
  // The 2026-07-28 twins of 1 and 3: the same work sent as the SDK v2 client sends it (headers
  // and `_meta`), run right after their legacy twin so that the two meet the same machine.
  { id: '1m', title: 'tools/list, bearer, every scope, 2026-07-28', target: { ratio: 0.8, p99: 10, rssMiB: RSS_LIMIT_MIB, twin: '1' }, status: 200, engine: 'sqlite' },
  // 1 with a DPoP-bound token: what a proof costs per request (verified every time, its jti
  // recorded once across instances), reported beside 1 rather than held to a target.
  { id: '1d', title: 'tools/list, DPoP-bound token, every scope', target: { rssMiB: RSS_LIMIT_MIB }, status: 200, engine: 'sqlite' },
  { id: '2', title: 'tools/list, bearer, one scope', target: { ratio: 0.8, p99: 10, rssMiB: RSS_LIMIT_MIB }, status: 200, engine: 'sqlite' },
  { id: '3', title: 'tools/call get_applications (10 of 100)', target: { ratio: 0.6, rssMiB: RSS_LIMIT_MIB }, status: 200, engine: 'sqlite' },
  { id: '3m', title: 'tools/call get_applications (10 of 100), 2026-07-28', target: { ratio: 0.6, rssMiB: RSS_LIMIT_MIB, twin: '3' }, status: 200, engine: 'sqlite' },
  { id: '4', title: 'tools/call add_user, SQLite', target: { ratio: 0.25, rssMiB: RSS_LIMIT_MIB }, status: 200, engine: 'sqlite' },
  { id: '4pg', title: 'tools/call add_user, PostgreSQL', target: { rssMiB: RSS_LIMIT_MIB }, status: 200, engine: 'postgres' },
  { id: '5', title: 'tools/list, HTTP Basic client', target: { ratio: 0.7, rssMiB: RSS_LIMIT_MIB }, status: 200, engine: 'sqlite' },
  { id: '6', title: 'token endpoint, client_credentials', target: { rssMiB: RSS_LIMIT_MIB }, status: 200, engine: 'sqlite' },
  { id: '7', title: 'unauthenticated (401)', target: { ratio: 0.8, rssMiB: RSS_LIMIT_MIB }, status: 401, engine: 'sqlite' },
  // A fleet: every request presents one of MANY_TOKENS distinct tokens, in turn. The verified-
  // token cache must hold them all: at least 0.80 of one token's throughput (scenario 1).
  { id: '8', title: `tools/list, bearer, ${MANY_TOKENS.toLocaleString('en-US')} distinct tokens`, target: { rssMiB: RSS_LIMIT_MIB, twin: '1', ofTwin: 0.8 }, status: 200, engine: 'sqlite' }
]

export function selectScenarios (only: readonly string[]): ScenarioSpec[] {
  if (only.length === 0) return [...SCENARIOS]
  const unknown = only.filter(id => !SCENARIOS.some(s => s.id === id))
  if (unknown.length > 0) throw new Error(`BENCH_SCENARIOS names unknown scenarios: ${unknown.join(', ')} (known: ${SCENARIOS.map(s => s.id).join(', ')})`)
  return SCENARIOS.filter(s => only.includes(s.id))
}
