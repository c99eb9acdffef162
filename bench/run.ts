/**
 * `npm run bench` — the performance benchmark. Starts the built service (`node dist/server.js`) on a
 * fresh SQLite database (and, when PostgreSQL answers, a second one on a fresh PostgreSQL
 * database for the write scenario), sets up its data through the real API, starts the bare
 * Fastify baseline with a reply the size of our `tools/list`, warms both up, then alternates
 * scenario and baseline runs (A B A B …) and reports medians, ratios, peak RSS and password
 * hashes per second. Writes results.json and results.svg.
 *
 * Knobs: BENCH_ROUNDS (3), BENCH_DURATION (10 s), BENCH_WARMUP (3 s), BENCH_CONNECTIONS (50),
 * BENCH_SCENARIOS (e.g. "1,1m,7"), BENCH_PG (auto|off), BENCH_PG_URL, BENCH_OUT (folder for the
 * results; bench/), BENCH_SERVER_LOG (file for the service's log; /dev/null),
 * BENCH_CPU_PROF (folder: run the service under --cpu-prof), BENCH_HASH_SECONDS (2),
 * BENCH_NODE_ARGS (extra node arguments for the service, e.g. --trace-gc; none by default),
 * BENCH_SERVER_ENV (extra settings for the service, KEY=VALUE,…: to measure what one costs).
 *
 * BENCH_SCALE=1 runs the scale probe instead (bench/scale.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon, { type Options, type Result } from 'autocannon'
import { hashPassword } from '../lib/crypto.js'
import { readConfig } from '../lib/config.js'
import { createDatabase } from '../lib/storage/db.js'
import { Store } from '../lib/storage/store.js'
import { atRestEncryption } from '../lib/keys.js'
import { ACCESS_TOKEN_TYP, createKeySigner, decodeJwtHeader } from '../lib/jwt.js'
import { benchSettings, MANY_TOKENS, selectScenarios, type BenchSettings, type ScenarioSpec } from './config.js'
import { callTool, mintToken, rpc } from './client.js'
import { basic, jsonRpc, MCP_PATH, mcpHeaders, MODERN_PROTOCOL_VERSION, modernRequest, TOKEN_PATH, tokenRequestBody } from './requests.js'
import { createPostgresDatabase, freePort, sampleRss, spawnChild, waitReady, type Child } from './processes.js'
import { DpopSigner } from './dpop.js'
import { scaleMain, scaleSettings } from './scale.js'
import { compareTwins, fmt, markdownTable, median, renderSvg, summarize, type RunSample, type ScenarioSummary } from './stats.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '..')

function log (line: string): void {
  process.stderr.write(`${line}\n`)
}

/** One scenario, ready to load: the autocannon request and a one-off check that it works. */
interface Load {
  spec: ScenarioSpec
  child: Child
  request: Pick<Options, 'method' | 'headers' | 'body' | 'requests'>
  path: string
  /** Runs before each run of `seconds` (DPoP: signs that run's proofs ahead, off the clock). */
  before?: (seconds: number) => void
}

interface Service {
  child: Child
  engine: 'sqlite' | 'postgres'
  bootstrap: { id: string, secret: string }
  databaseUrl: string
}

/**
 * Starts `node dist/server.js`. `again` restarts a stopped service on its database and port
 * (tokens name the port in `aud`), so a profile can leave out the set-up.
 */
async function startService (settings: BenchSettings, work: string, engine: 'sqlite' | 'postgres', databaseUrl: string, again?: Service): Promise<Service> {
  const port = again?.child.port ?? await freePort()
  const bootstrap = again?.bootstrap ?? { id: `bench-bootstrap-${engine}`, secret: randomBytes(24).toString('base64url') }
  const profile = settings.cpuProfDir !== null && again !== undefined
  const args: string[] = [...settings.nodeArgs]
  if (profile && settings.cpuProfDir !== null) {
    mkdirSync(settings.cpuProfDir, { recursive: true })
    args.push('--cpu-prof', `--cpu-prof-dir=${resolve(settings.cpuProfDir)}`, `--cpu-prof-name=iam-${engine}-${Date.now()}.cpuprofile`)
  }
  args.push(join(root, 'dist', 'server.js'))
  const child = spawnChild({
    name: `iam-mcp (${engine})`,
    args,
    cwd: work, // no stray .env is picked up
    port,
    logFile: settings.serverLog !== null ? resolve(settings.serverLog) : null,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      // Request logging stays on, as in production: the target ratios must hold with it.
      LOG_LEVEL: 'info',
      IAM_BOOTSTRAP_ADMIN_PASSWORD: randomBytes(18).toString('base64url'),
      IAM_BOOTSTRAP_CLIENT_ID: bootstrap.id,
      IAM_BOOTSTRAP_CLIENT_SECRET: bootstrap.secret,
      // The token endpoint is rate-limited per client and IP, tools/call per caller; 50
      // connections of one caller would measure 429s. The limiters still run on every request,
      // only their bounds are raised.
      RATE_LIMIT_MAX: '1000000000',
      RATE_LIMIT_MCP_MAX: '1000000000',
      ...settings.serverEnv
    }
  })
  await waitReady(child, `${child.base}/health/ready`)
  return { child, engine, bootstrap, databaseUrl }
}

/** Under BENCH_CPU_PROF, restarts the service with --cpu-prof once its data is set up. */
async function profiled (settings: BenchSettings, work: string, service: Service): Promise<Service> {
  if (settings.cpuProfDir === null) return service
  await service.child.stop()
  log(`restarting ${service.child.name} under --cpu-prof (profiles go to ${settings.cpuProfDir})`)
  return await startService(settings, work, service.engine, service.databaseUrl, service)
}

/** Every tool scope the service declares (from its RFC 9728 document), OIDC scopes left out. */
async function toolScopes (base: string): Promise<string[]> {
  const res = await fetch(`${base}/.well-known/oauth-protected-resource`)
  if (res.status !== 200) throw new Error(`discovery answered ${res.status}`)
  const doc = await res.json() as { scopes_supported?: string[] }
  return (doc.scopes_supported ?? []).filter(s => s.includes(':'))
}

interface Prepared {
  /** `Authorization` for a caller holding every scope: a bearer token (Basic if none could be had). */
  allScopes: string
  /** `Authorization` with a bearer token holding one scope. */
  oneScope: string | undefined
  /** Why no token could be minted, if so. */
  tokenProblem: string | undefined
  /** The organization holding the 100 applications and the users written by scenario 4. */
  organization: string
  basicApp: { clientId: string, clientSecret: string }
  /** Size in bytes of `tools/list` for a token holding every scope. */
  toolsListBytes: number
  /** A DPoP-bound token holding every scope, and the key it is bound to; absent if none could be had. */
  dpop?: { token: string, signer: DpopSigner }
  /** `Authorization` values of MANY_TOKENS distinct tokens (scenario 8), once minted. */
  manyTokens?: string[]
}

/**
 * `count` distinct access tokens holding every scope, as a fleet of agents holds them: one is
 * minted through the token endpoint, the others are its claims with a fresh `jti`, signed with
 * the service's current key read from its database (RS256 signing is what takes the time; the
 * endpoint would take ten times longer). Tokens not recorded in the database are what the
 * Bearer path sees anyway: it never reads the token row.
 */
async function mintMany (service: Service, count: number): Promise<string[]> {
  const template = (await mintToken(service.child.base, service.bootstrap.id, service.bootstrap.secret)).token
  const header = decodeJwtHeader(template)
  const claims = JSON.parse(Buffer.from(template.split('.')[1], 'base64url').toString()) as Record<string, unknown>
  if (header === undefined || typeof header.kid !== 'string') throw new Error('the minted token names no key')
  const config = readConfig({ DATABASE_URL: service.databaseUrl })
  const handle = createDatabase(config.database)
  let privatePem: string
  try {
    const key = (await new Store(handle.db, handle.engine).signingKeys.list()).find(k => k.kid === header.kid)
    if (key === undefined) throw new Error(`signing key ${header.kid} not found`)
    privatePem = (await atRestEncryption(config)).encryption.decrypt(key.privatePem)
  } finally {
    await handle.close()
  }
  const sign = createKeySigner(privatePem, header.kid, ACCESS_TOKEN_TYP)
  const tokens = [`Bearer ${template}`]
  const started = Date.now()
  while (tokens.length < count) {
    tokens.push(`Bearer ${sign({ ...claims, jti: randomBytes(16).toString('base64url') })}`)
    if (tokens.length % 20_000 === 0) log(`signed ${tokens.length} of ${count} tokens (${Math.round((Date.now() - started) / 1000)} s)`)
  }
  return tokens
}

/** Sets up the data the scenarios need, through the token endpoint and MCP tools only. */
async function prepare (service: Service, applications: number): Promise<Prepared> {
  const base = service.child.base
  const scopes = await toolScopes(base)
  if (scopes.length === 0) throw new Error('discovery lists no tool scopes')
  // Setup runs as the bootstrap application with a token holding every scope; if the token
  // endpoint does not work, as that application over Basic, and the bearer scenarios are skipped.
  let allScopes: string
  let oneScope: string | undefined
  let tokenProblem: string | undefined
  const single = scopes.includes('user:read') ? 'user:read' : scopes[0]
  try {
    allScopes = `Bearer ${(await mintToken(base, service.bootstrap.id, service.bootstrap.secret)).token}`
    oneScope = `Bearer ${(await mintToken(base, service.bootstrap.id, service.bootstrap.secret, single)).token}`
  } catch (err) {
    tokenProblem = (err as Error).message
    log(`cannot mint tokens (${tokenProblem.slice(0, 200)}): setting up over HTTP Basic`)
    allScopes = basic(service.bootstrap.id, service.bootstrap.secret)
  }
  const list = await rpc(base, allScopes, 'tools/list')
  const tools = (list.body?.result as { tools?: unknown[] } | undefined)?.tools
  if (list.status !== 200 || !Array.isArray(tools) || tools.length === 0) throw new Error(`tools/list answered ${list.status}: ${list.text.slice(0, 300)}`)

  let organization = 'bench'
  try {
    await callTool(base, allScopes, 'add_organization', { name: organization, displayName: 'Benchmark' })
  } catch (err) {
    log(`could not add organization ${organization} (${(err as Error).message.slice(0, 200)}); using built-in`)
    organization = 'built-in'
  }
  const created = await callTool(base, allScopes, 'add_application', {
    owner: organization,
    name: 'bench-basic',
    displayName: 'Benchmark service account',
    grantTypes: ['client_credentials'],
    redirectUris: [],
    scopes
  })
  const clientId = (created.application as { clientId?: unknown } | undefined)?.clientId ?? created.clientId
  const clientSecret = created.clientSecret
  if (typeof clientId !== 'string' || typeof clientSecret !== 'string') throw new Error(`add_application returned no client credentials: ${JSON.stringify(created).slice(0, 300)}`)
  // Scenario 3 reads a page of 10 from 100 applications of this organization.
  for (let i = 1; i < applications; i++) {
    await callTool(base, allScopes, 'add_application', {
      owner: organization,
      name: `bench-app-${String(i).padStart(3, '0')}`,
      displayName: `Benchmark application ${i}`,
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: [single]
    })
  }
  let dpop: Prepared['dpop']
  if (tokenProblem === undefined) {
    try {
      const signer = new DpopSigner()
      const bound = await mintToken(base, service.bootstrap.id, service.bootstrap.secret, undefined, signer.proof('POST', base + TOKEN_PATH))
      dpop = { token: bound.token, signer }
    } catch (err) {
      log(`cannot mint a DPoP-bound token (${(err as Error).message.slice(0, 200)})`)
    }
  }
  return { allScopes, oneScope, tokenProblem, organization, basicApp: { clientId, clientSecret }, toolsListBytes: list.bytes, ...(dpop === undefined ? {} : { dpop }) }
}

/** The autocannon request of each scenario. */
function loadFor (spec: ScenarioSpec, service: Service, prepared: Prepared): Load {
  const child = service.child
  const post = (authorization: string | undefined, body: string): Load => ({
    spec, child, path: MCP_PATH, request: { method: 'POST', headers: mcpHeaders(authorization), body }
  })
  const bearer = (authorization: string | undefined): string => {
    if (prepared.tokenProblem !== undefined || authorization === undefined) throw new Error(`no bearer token: ${prepared.tokenProblem ?? 'not minted'}`)
    return authorization
  }
  /** A load whose every request is made anew by `next` (a new user, the next token, a fresh proof). */
  const varying = (headers: Record<string, string>, next: () => { headers: Record<string, string>, body: string }, before?: Load['before']): Load => ({
    spec,
    child,
    path: MCP_PATH,
    before,
    request: { requests: [{ method: 'POST', path: MCP_PATH, headers, setupRequest: (request: any) => ({ ...request, ...next() }) }] }
  })
  const modern = (authorization: string, method: string, params?: Record<string, unknown>): Load => {
    const { headers, body } = modernRequest(method, params, authorization)
    return { spec, child, path: MCP_PATH, request: { method: 'POST', headers, body } }
  }
  const applicationsPage = { name: 'get_applications', arguments: { owner: prepared.organization, limit: 10 } }
  switch (spec.id) {
    case '1': return post(bearer(prepared.allScopes), jsonRpc('tools/list'))
    case '1m': return modern(bearer(prepared.allScopes), 'tools/list')
    case '1d': {
      if (prepared.dpop === undefined) throw new Error('no DPoP-bound token')
      const { token, signer } = prepared.dpop
      const htu = child.base + MCP_PATH
      const headers = mcpHeaders(`DPoP ${token}`)
      const body = jsonRpc('tools/list')
      // Enough proofs for the run at well above this machine's rate, signed before it; a
      // shortfall is signed on the spot and reported.
      return varying(headers, () => ({ headers: { ...headers, dpop: signer.next('POST', htu, token) }, body }),
        (seconds) => { signer.refill(Math.ceil(seconds * PROOFS_PER_SECOND) + 100, 'POST', htu, token) })
    }
    case '2': return post(bearer(prepared.oneScope), jsonRpc('tools/list'))
    case '3': return post(prepared.allScopes, jsonRpc('tools/call', applicationsPage))
    case '3m': return modern(prepared.allScopes, 'tools/call', applicationsPage)
    case '4':
    case '4pg': {
      // Every request adds a user no one has added before: a run tag and a counter.
      const tag = randomBytes(3).toString('hex')
      let counter = 0
      const headers = mcpHeaders(prepared.allScopes)
      return varying(headers, () => {
        const name = `u${tag}n${(counter++).toString(36)}`
        return { headers, body: jsonRpc('tools/call', { name: 'add_user', arguments: { owner: prepared.organization, name, displayName: `Bench user ${name}`, email: `${name}@bench.example` } }) }
      })
    }
    case '5': return post(basic(prepared.basicApp.clientId, prepared.basicApp.clientSecret), jsonRpc('tools/list'))
    case '6': return {
      spec,
      child,
      path: TOKEN_PATH,
      request: {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(prepared.basicApp.clientId, prepared.basicApp.clientSecret) },
        body: tokenRequestBody()
      }
    }
    case '7': return post(undefined, jsonRpc('tools/list'))
    case '8': {
      const tokens = prepared.manyTokens
      if (tokens === undefined || tokens.length === 0) throw new Error(`no bearer tokens: ${prepared.tokenProblem ?? 'not minted'}`)
      const body = jsonRpc('tools/list')
      let counter = 0
      // Each request the next token, round the whole set: no token is seen twice before every
      // other one has been.
      return varying(mcpHeaders(tokens[0]), () => ({ headers: mcpHeaders(tokens[counter++ % tokens.length]), body }))
    }
    default: throw new Error(`no load for scenario ${spec.id}`)
  }
}

/** One request of the scenario, checked by hand before any load: the run measures real answers. */
async function checkLoad (load: Load): Promise<void> {
  const { request } = load
  const first = request.requests?.[0]
  load.before?.(0)
  const set = first?.setupRequest?.({ ...first }, {})
  const headers = set?.headers ?? first?.headers ?? request.headers ?? {}
  const body = set?.body ?? first?.body ?? request.body
  const res = await fetch(load.child.base + load.path, { method: 'POST', headers, body })
  const text = await res.text()
  if (res.status !== load.spec.status) throw new Error(`expected HTTP ${load.spec.status}, got ${res.status}: ${text.slice(0, 300)}`)
  if (load.spec.status === 200 && load.path === MCP_PATH) {
    const parsed = JSON.parse(text) as { result?: { isError?: boolean, tools?: unknown[], resultType?: unknown }, error?: unknown }
    if (parsed.error !== undefined || parsed.result === undefined || parsed.result.isError === true) throw new Error(`unexpected answer: ${text.slice(0, 300)}`)
    // A modern request answered the legacy way would measure the wrong thing.
    const sentModern = Object.entries(headers).some(([k, v]) => k.toLowerCase() === 'mcp-protocol-version' && v === MODERN_PROTOCOL_VERSION)
    if (sentModern && parsed.result.resultType !== 'complete') throw new Error(`not a ${MODERN_PROTOCOL_VERSION} answer (no resultType): ${text.slice(0, 300)}`)
  }
}

async function run (child: Child, path: string, request: Load['request'], seconds: number, connections: number, status: number): Promise<{ sample: RunSample, peakRssMiB: number }> {
  const sampler = sampleRss(child)
  const cpuBefore = child.cpuMs()
  let result: Result
  let peakRssMiB = 0
  try {
    result = await autocannon({ url: child.base + path, connections, duration: seconds, pipelining: 1, timeout: 10, ...request })
  } finally {
    peakRssMiB = sampler.stop()
  }
  const cpuAfter = child.cpuMs()
  const expected = result.statusCodeStats[String(status)]?.count ?? 0
  const total = result.requests.total
  const sample: RunSample = {
    rps: total / (result.duration > 0 ? result.duration : seconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    unexpected: (total - expected) + result.errors + result.timeouts,
    total: total + result.errors + result.timeouts,
    cpuUs: cpuBefore !== null && cpuAfter !== null && total > 0 ? ((cpuAfter - cpuBefore) * 1000) / total : null
  }
  if (child.exited()) throw new Error(`${child.name} died during the run`)
  // Let closed sockets drain and the next run start from a quiet server.
  await sleep(500)
  return { sample, peakRssMiB }
}

async function passwordHashRate (seconds: number): Promise<{ sequentialPerSecond: number, parallelPerSecond: number, parallelism: number }> {
  if (seconds <= 0) return { sequentialPerSecond: Number.NaN, parallelPerSecond: Number.NaN, parallelism: 0 }
  const timed = async (workers: number): Promise<number> => {
    let done = 0
    const start = performance.now()
    const deadline = start + seconds * 1000
    await Promise.all(Array.from({ length: workers }, async () => {
      while (performance.now() < deadline) {
        await hashPassword('correct horse battery staple')
        done++
      }
    }))
    return done / ((performance.now() - start) / 1000)
  }
  await hashPassword('warm-up')
  const parallelism = Number(process.env.UV_THREADPOOL_SIZE ?? 4)
  return { sequentialPerSecond: await timed(1), parallelPerSecond: await timed(parallelism), parallelism }
}

async function main (): Promise<void> {
  if (process.env.BENCH_SCALE !== undefined && process.env.BENCH_SCALE !== '' && process.env.BENCH_SCALE !== '0') {
    const scale = scaleSettings(process.env, here)
    await scaleMain(scale)
    // The many-tokens figure: scenario 8 (MANY_TOKENS distinct tokens) against scenario 1 (one
    // token), in a load run of their own whose results go beside the scale probe's.
    if (scale.manyTokens) {
      log(`many tokens: scenarios 1 and 8 (${MANY_TOKENS.toLocaleString('en')} distinct tokens) …`)
      await loadBench(benchSettings({ ...process.env, BENCH_SCENARIOS: '1,8', BENCH_OUT: join(scale.outDir, 'scale-tokens') }, here))
    }
    return
  }
  await loadBench(benchSettings(process.env, here))
}

/** The load scenarios against the bare baseline: results.json and results.svg in `settings.outDir`. */
async function loadBench (settings: BenchSettings): Promise<void> {
  const specs = selectScenarios(settings.only)
  const work = mkdtempSync(join(tmpdir(), 'iam-bench-'))
  const cleanups: Array<{ what: string, fn: () => Promise<void> }> = []
  const startedAt = new Date()
  log(`iam-mcp bench: ${settings.rounds} rounds × ${settings.duration} s, ${settings.connections} connections, warm-up ${settings.warmup} s; work dir ${work}`)
  try {
    let sqlite = await startService(settings, work, 'sqlite', `sqlite:${join(work, 'iam.db')}`)
    cleanups.push({ what: 'stop the SQLite service', fn: () => sqlite.child.stop() })
    const prepared = await prepare(sqlite, 100)
    if (specs.some(s => s.id === '8') && prepared.tokenProblem === undefined) {
      log(`minting ${MANY_TOKENS} tokens for scenario 8 …`)
      prepared.manyTokens = await mintMany(sqlite, MANY_TOKENS)
    }
    sqlite = await profiled(settings, work, sqlite)
    log(`service ready on ${sqlite.child.base}; tools/list (every scope) is ${prepared.toolsListBytes} bytes`)

    const basePort = await freePort()
    const baseline = spawnChild({
      name: 'bare Fastify baseline',
      args: ['--import', 'tsx', join(here, 'baseline.ts')],
      cwd: root,
      port: basePort,
      logFile: null,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', BASELINE_PORT: String(basePort), BASELINE_REPLY_BYTES: String(prepared.toolsListBytes) }
    })
    cleanups.push({ what: 'stop the baseline', fn: () => baseline.stop() })
    const baselineBody = jsonRpc('tools/list')
    const baselineRequest: Load['request'] = { method: 'POST', headers: mcpHeaders(prepared.allScopes), body: baselineBody }
    await waitForBaseline(baseline, baselineBody, prepared.toolsListBytes)

    let postgres: Service | null = null
    let postgresPrepared: Prepared | null = null
    if (specs.some(s => s.engine === 'postgres') && settings.postgres === 'auto') {
      const db = await createPostgresDatabase(settings.postgresUrl, 'iam_bench', 'skipping the PostgreSQL scenario')
      if (db !== null) {
        cleanups.push({ what: 'drop the PostgreSQL database', fn: db.drop })
        postgres = await startService(settings, work, 'postgres', db.url)
        cleanups.push({ what: 'stop the PostgreSQL service', fn: () => postgres?.child.stop() ?? Promise.resolve() })
        postgresPrepared = await prepare(postgres, 1)
        postgres = await profiled(settings, work, postgres)
      }
    }

    const loads: Load[] = []
    const skipped: Array<{ id: string, title: string, reason: string }> = []
    for (const spec of specs) {
      const service = spec.engine === 'postgres' ? postgres : sqlite
      const data = spec.engine === 'postgres' ? postgresPrepared : prepared
      if (service === null || data === null) {
        skipped.push({ id: spec.id, title: spec.title, reason: 'PostgreSQL not configured or not reachable' })
        continue
      }
      try {
        const load = loadFor(spec, service, data)
        await checkLoad(load)
        loads.push(load)
      } catch (err) {
        log(`scenario ${spec.id} (${spec.title}) skipped: ${(err as Error).message}`)
        skipped.push({ id: spec.id, title: spec.title, reason: (err as Error).message })
      }
    }
    if (loads.length === 0) throw new Error('no scenario works: nothing to measure')

    if (settings.warmup > 0) {
      log('warming up …')
      await run(baseline, MCP_PATH, baselineRequest, settings.warmup, settings.connections, 200)
      for (const load of loads) {
        load.before?.(settings.warmup)
        await run(load.child, load.path, load.request, settings.warmup, settings.connections, load.spec.status)
      }
    }

    // Scenario 8 measures a fleet whose tokens are in use, not their first verification: every
    // token is presented once before the rounds, however long that takes on this machine.
    const many = loads.find(l => l.spec.id === '8')
    if (many !== undefined && prepared.manyTokens !== undefined) {
      log(`presenting each of the ${prepared.manyTokens.length} tokens once …`)
      const started = Date.now()
      await autocannon({ url: many.child.base + many.path, connections: settings.connections, amount: prepared.manyTokens.length, pipelining: 1, timeout: 10, ...many.request })
      log(`done in ${Math.round((Date.now() - started) / 1000)} s`)
    }

    const samples = new Map<string, { a: RunSample[], b: RunSample[], rss: number }>(loads.map(l => [l.spec.id, { a: [], b: [], rss: 0 }]))
    for (let round = 1; round <= settings.rounds; round++) {
      for (const load of loads) {
        const entry = samples.get(load.spec.id)
        if (entry === undefined) continue
        load.before?.(settings.duration)
        const a = await run(load.child, load.path, load.request, settings.duration, settings.connections, load.spec.status)
        const b = await run(baseline, MCP_PATH, baselineRequest, settings.duration, settings.connections, 200)
        entry.a.push(a.sample)
        entry.b.push(b.sample)
        entry.rss = Math.max(entry.rss, a.peakRssMiB)
        log(`round ${round}/${settings.rounds}  [${load.spec.id}] ${load.spec.title}: ${fmt(a.sample.rps)} req/s, p50 ${fmt(a.sample.p50, 1)} ms, p99 ${fmt(a.sample.p99, 1)} ms, ${fmt(a.sample.cpuUs)} CPU µs/req, RSS ≤ ${fmt(a.peakRssMiB)} MiB` +
          `${a.sample.unexpected > 0 ? `, ${a.sample.unexpected} unexpected` : ''} | baseline ${fmt(b.sample.rps)} req/s, ${fmt(b.sample.cpuUs)} CPU µs/req → ${fmt(a.sample.rps / b.sample.rps, 2)}`)
      }
    }

    const summaries: ScenarioSummary[] = compareTwins(loads.map(l => {
      const entry = samples.get(l.spec.id) ?? { a: [], b: [], rss: 0 }
      return summarize(l.spec, entry.a, entry.b, entry.rss)
    }))
    const baselineSamples = [...samples.values()].flatMap(e => e.b)
    const baselineSummary = {
      rps: median(baselineSamples.map(s => s.rps)),
      p50: median(baselineSamples.map(s => s.p50)),
      p99: median(baselineSamples.map(s => s.p99)),
      cpuUs: median(baselineSamples.map(s => s.cpuUs).filter((x): x is number => typeof x === 'number')),
      runs: baselineSamples.length
    }
    const memory = {
      sqliteHwmMiB: sqlite.child.memory()?.hwmMiB ?? null,
      postgresHwmMiB: postgres?.child.memory()?.hwmMiB ?? null
    }

    // Hashing is timed with the servers idle, so it gets the machine to itself.
    await Promise.all([sqlite.child.stop(), baseline.stop(), postgres?.child.stop()])
    const hashing = await passwordHashRate(settings.hashSeconds)

    const table = markdownTable(baselineSummary, summaries)
    const withTarget = summaries.filter(s => s.pass !== null)
    const met = withTarget.filter(s => s.pass === true).length
    process.stdout.write(`\n${table}\n\n`)
    process.stdout.write(`Peak RSS (VmHWM) of the service: SQLite ${fmt(memory.sqliteHwmMiB)} MiB${memory.postgresHwmMiB !== null ? `, PostgreSQL ${fmt(memory.postgresHwmMiB)} MiB` : ''}\n`)
    process.stdout.write(`Password hashing (scrypt N=32768, lib/crypto.ts hashPassword): ${fmt(hashing.sequentialPerSecond, 1)}/s one at a time, ${fmt(hashing.parallelPerSecond, 1)}/s with ${hashing.parallelism} in flight\n`)
    process.stdout.write(`tools/list reply (every scope): ${prepared.toolsListBytes} bytes; baseline reply the same size\n`)
    const dpopCost = proofCost(summaries)
    if (dpopCost !== undefined) {
      process.stdout.write(`DPoP proof: ${fmt(dpopCost.cpuUs)} server CPU µs per request (1d − 1), req/s ratio 1d/1 ${fmt(dpopCost.rpsRatio, 2)}` +
        `${prepared.dpop !== undefined && prepared.dpop.signer.signedDuringRun > 0 ? `; ${prepared.dpop.signer.signedDuringRun} proofs were signed during the load (pool too small)` : ''}\n`)
    }
    for (const s of skipped) process.stdout.write(`Skipped ${s.id} (${s.title}): ${s.reason}\n`)
    process.stdout.write(`Targets met: ${met} of ${withTarget.length}\n`)

    const machine = {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      platform: `${process.platform} ${process.arch}`
    }
    const results = {
      generatedAt: new Date().toISOString(),
      startedAt: startedAt.toISOString(),
      command: 'npm run bench',
      settings: { rounds: settings.rounds, duration: settings.duration, warmup: settings.warmup, connections: settings.connections, logLevel: 'info', rateLimitMax: 1000000000, nodeArgs: settings.nodeArgs },
      machine,
      toolsListBytes: prepared.toolsListBytes,
      baseline: baselineSummary,
      scenarios: summaries,
      skipped,
      memory,
      passwordHashing: hashing,
      ...(dpopCost === undefined ? {} : { dpopProof: dpopCost }),
      targetsMet: { met, of: withTarget.length }
    }
    mkdirSync(settings.outDir, { recursive: true })
    writeFileSync(join(settings.outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n')
    writeFileSync(join(settings.outDir, 'results.svg'), renderSvg(summaries, {
      title: `iam-mcp vs bare Fastify: requests/s ratio (${met}/${withTarget.length} targets met)`,
      subtitle: `${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, ${settings.connections} connections, ${settings.rounds} × ${settings.duration} s rounds; baseline ${fmt(baselineSummary.rps)} req/s; ${results.generatedAt.slice(0, 16).replace('T', ' ')} UTC`
    }))
    log(`wrote ${join(settings.outDir, 'results.json')} and results.svg`)
  } finally {
    for (const { what, fn } of cleanups.reverse()) {
      await fn().catch(err => log(`could not ${what}: ${(err as Error).message}`))
    }
    rmSync(work, { recursive: true, force: true })
  }
}

/** Proofs signed ahead per second of a DPoP run: above what this service answers on one core. */
const PROOFS_PER_SECOND = 10_000

/** What a DPoP proof adds to a `tools/list`: 1d against 1, measured in the same run. */
function proofCost (summaries: readonly ScenarioSummary[]): { cpuUs: number, rpsRatio: number } | undefined {
  const bearer = summaries.find(s => s.id === '1')
  const bound = summaries.find(s => s.id === '1d')
  if (bearer === undefined || bound === undefined || bearer.cpuUs === null || bound.cpuUs === null) return undefined
  return { cpuUs: bound.cpuUs - bearer.cpuUs, rpsRatio: bound.rps / bearer.rps }
}

/** Waits for the baseline to listen and checks that its reply has the size it was given. */
async function waitForBaseline (child: Child, body: string, bytes: number): Promise<void> {
  const deadline = Date.now() + 30000
  while (Date.now() < deadline) {
    if (child.exited()) throw new Error('the baseline exited during start-up')
    try {
      const res = await fetch(child.base + MCP_PATH, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      const size = (await res.arrayBuffer()).byteLength
      if (res.status !== 200 || size !== bytes) throw new Error(`baseline answered ${res.status} with ${size} bytes, expected ${bytes}`)
      return
    } catch (err) {
      if ((err as Error).message.startsWith('baseline answered')) throw err
      await sleep(100)
    }
  }
  throw new Error('the baseline did not start within 30 s')
}

main().catch(err => {
  log(`bench failed: ${(err as Error).stack ?? String(err)}`)
  process.exitCode = 1
})
