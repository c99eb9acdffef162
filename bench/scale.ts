/**
 * `BENCH_SCALE=1 npm run bench` — the scale probe: do lists and filters stay flat as the tables
 * grow? For each engine (SQLite; PostgreSQL unless BENCH_PG=off or it does not answer) and each
 * size (1,000 users, then BENCH_SCALE_USERS), it seeds a fresh database through the store's
 * own database handle (bulk inserts in transactions, users without passwords: this measures
 * reads, not argon2), then calls each operation straight on the repositories — no HTTP, no
 * cache — BENCH_SCALE_ITERATIONS times, and prints p50/p99 side by side with the growth
 * ratio. Writes results-scale.json and results-scale.svg (to BENCH_OUT, default bench/).
 *
 * At a size of N users: N audit events, N/10 applications and N/10 tokens; half the users and
 * tokens and nine tenths of the audit events belong to one large organization (`acme`), the
 * rest to 1,000 others; a small organization (`small`) holds a handful of each.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { createDatabase, migrate, type DatabaseHandle } from '../lib/storage/db.js'
import { Store } from '../lib/storage/store.js'
import { encodeCursor } from '../lib/storage/paging.js'
import { readConfig } from '../lib/config.js'
import { bootstrap } from '../lib/bootstrap.js'
import { fmt, median } from './stats.js'
import { createPostgresDatabase } from './processes.js'
import { bulkRevoke, bulkRevokeMarkdown, type BulkRevokeOutcome } from './bulk-revoke.js'

type Engine = 'sqlite' | 'postgres'

export interface ScaleSettings {
  small: number
  large: number
  iterations: number
  postgres: boolean
  /** BENCH_SCALE_ENGINES: which engines to measure, in order (PostgreSQL only when BENCH_PG allows). */
  engines: Engine[]
  postgresUrl: string
  outDir: string
  /** BENCH_SCALE_BULK_TOKENS: live tokens revoked at once by `delete_application` (0 skips it). */
  bulkTokens: number
  /** BENCH_SCALE_MANY_TOKENS: whether load scenarios 1 and 8 (many distinct tokens) follow (`0` skips them). */
  manyTokens: boolean
}

function count (env: Record<string, string | undefined>, key: string, fallback: number, min: number): number {
  const raw = env[key]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw.replace(/_/g, ''))
  if (!Number.isInteger(value) || value < min) throw new Error(`${key} must be an integer of at least ${min} (got ${JSON.stringify(raw)})`)
  return value
}

export function scaleSettings (env: Record<string, string | undefined>, defaultOutDir: string): ScaleSettings {
  const postgres = env.BENCH_PG ?? 'auto'
  if (postgres !== 'auto' && postgres !== 'off') throw new Error(`BENCH_PG must be "auto" or "off" (got ${JSON.stringify(postgres)})`)
  const small = count(env, 'BENCH_SCALE_SMALL', 1000, 1000)
  const engines = (env.BENCH_SCALE_ENGINES ?? 'sqlite,postgres').split(',').map(e => e.trim()).filter(Boolean)
  const unknown = engines.filter(e => e !== 'sqlite' && e !== 'postgres')
  if (unknown.length > 0 || engines.length === 0) throw new Error(`BENCH_SCALE_ENGINES must list sqlite and/or postgres (got ${JSON.stringify(env.BENCH_SCALE_ENGINES)})`)
  return {
    small,
    large: count(env, 'BENCH_SCALE_USERS', 1_000_000, small),
    iterations: count(env, 'BENCH_SCALE_ITERATIONS', 200, 10),
    postgres: postgres === 'auto',
    engines: (engines as Engine[]).filter(e => e === 'sqlite' || postgres === 'auto'),
    postgresUrl: env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    outDir: env.BENCH_OUT ?? defaultOutDir,
    bulkTokens: count(env, 'BENCH_SCALE_BULK_TOKENS', 50_000, 0),
    manyTokens: env.BENCH_SCALE_MANY_TOKENS !== '0'
  }
}

function log (line: string): void {
  process.stderr.write(`${line}\n`)
}

const BIG = 'acme'
const SMALL = 'small'
const OTHER_ORGS = 1000
const pad = (i: number): string => String(i).padStart(8, '0')
/** Users in `acme` whose display name holds a word nobody else's does: a filter with few matches. */
const RARE_WORD = 'Zebrafinch'
const RARE_USERS = 3
/** Audit events of a principal, a tool and an organization that are almost never seen. */
const RARE_EVENTS = 10

/** Inserts `total` rows made by `row(i)`, `chunk` per statement, `perTransaction` statements per transaction. */
async function bulk (handle: DatabaseHandle, table: string, total: number, row: (i: number) => Record<string, unknown>, chunk = 500, perTransaction = 20): Promise<void> {
  for (let start = 0; start < total; start += chunk * perTransaction) {
    await handle.db.transaction().execute(async (trx) => {
      for (let i = start; i < Math.min(total, start + chunk * perTransaction); i += chunk) {
        const rows = Array.from({ length: Math.min(chunk, total - i) }, (_, k) => row(i + k))
        await trx.insertInto(table as any).values(rows).execute()
      }
    })
  }
}

interface Seeded {
  users: number
  auditEvents: number
  applications: number
  tokens: number
  /** An `acme` user in the middle of the organization: `get_user` and the deep cursor start there. */
  middleUser: string
}

async function seed (handle: DatabaseHandle, users: number): Promise<Seeded> {
  const now = Date.now()
  const stamp = { created_at: now, updated_at: now }
  const orgName = (i: number): string => `o${pad(i)}`
  await bulk(handle, 'organizations', OTHER_ORGS + 2, i => {
    const name = i === 0 ? BIG : i === 1 ? SMALL : orgName(i - 2)
    return { id: `admin/${name}`, owner: 'admin', name, display_name: name, website_url: '', ...stamp }
  })
  // Even users are acme's, odd ones spread over the other organizations.
  const userOwner = (i: number): string => i % 2 === 0 ? BIG : orgName(i % OTHER_ORGS)
  const userName = (i: number): string => i < RARE_USERS * 2 && i % 2 === 0 ? `${RARE_WORD.toLowerCase()}${pad(i)}` : `user${pad(i)}`
  await bulk(handle, 'users', users + 5, i => {
    const owner = i < users ? userOwner(i) : SMALL
    const name = i < users ? userName(i) : `user${pad(i)}`
    const display = name.startsWith(RARE_WORD.toLowerCase()) ? `${RARE_WORD} ${i}` : `User ${i}`
    return { id: `${owner}/${name}`, owner, name, name_key: name, display_name: display, email: `${name}@example.com`, phone: '', password_hash: null, is_admin: 0, is_forbidden: 0, ...stamp }
  })
  const applications = Math.max(10, Math.floor(users / 10))
  await bulk(handle, 'applications', applications + 5, i => {
    const owner = i < applications ? orgName(i % OTHER_ORGS) : SMALL
    return {
      id: `${owner}/app${pad(i)}`,
      owner,
      name: `app${pad(i)}`,
      display_name: `App ${i}`,
      client_id: `client-${pad(i)}`,
      client_secret_digest: null,
      token_endpoint_auth_method: 'none',
      redirect_uris: '[]',
      grant_types: '["authorization_code"]',
      scopes: '[]',
      is_disabled: 0,
      is_dynamic: 0,
      registration_token_digest: null,
      ...stamp
    }
  })
  const tokens = Math.max(10, Math.floor(users / 10))
  await bulk(handle, 'tokens', tokens + 5, i => {
    const subject = i < tokens ? `${userOwner(i)}/${userName(i)}` : `${SMALL}/user${pad(users + (i - tokens))}`
    return {
      id: `tok-${randomBytes(8).toString('hex')}-${pad(i)}`,
      kind: 'access',
      subject,
      subject_kind: 'user',
      client_id: `client-${pad(i % applications)}`,
      scope: 'openid',
      audience: 'http://127.0.0.1/mcp',
      family_id: null,
      session_id: null,
      code_id: null,
      expires_at: now + 86_400_000,
      created_at: now,
      revoked_at: null,
      used_at: null
    }
  })
  const events = users
  const every = Math.max(1, Math.floor(events / RARE_EVENTS))
  const tools = ['get_users', 'add_user', 'get_applications', 'get_tokens', 'update_user', 'get_roles', 'get_permissions', 'whoami']
  await bulk(handle, 'audit_events', events, i => {
    const rare = i % every === every - 1
    const organization = rare ? SMALL : i % 10 === 0 ? orgName(i % OTHER_ORGS) : BIG
    return {
      id: `ev-${pad(i)}-${randomBytes(4).toString('hex')}`,
      at: now - (events - i) * 1000,
      principal: rare ? `${SMALL}/rare-principal` : `${organization}/user${pad(i % 997)}`,
      principal_kind: 'user',
      organization,
      client_id: `client-${pad(i % applications)}`,
      tool: rare ? 'rare_tool' : tools[i % tools.length],
      outcome: 'ok',
      duration_ms: 1.5,
      arguments: '{"limit":50}',
      error: ''
    }
  }, 500)
  return { users, auditEvents: events, applications, tokens, middleUser: `${BIG}/${userName(Math.floor(users / 4) * 2)}` }
}

interface Operation {
  id: string
  what: string
  /** Substring filters on SQLite may take up to 50 ms; everything else 20 ms. */
  filter?: boolean
  run: (store: Store, seeded: Seeded) => Promise<unknown>
}

export const OPERATIONS: readonly Operation[] = [
  { id: 'get_user', what: '`get_user`', run: (s, d) => s.users.get(d.middleUser) },
  { id: 'users_first', what: '`get_users` first page, one organization', run: s => s.users.list({ owner: BIG, limit: 50 }) },
  { id: 'users_cursor', what: '`get_users` by cursor (middle of the organization)', run: (s, d) => s.users.list({ owner: BIG, limit: 50, cursor: encodeCursor(d.middleUser) }) },
  { id: 'users_filter_few', what: '`get_users` with `filter`, few matches', filter: true, run: s => s.users.list({ owner: BIG, limit: 50, filter: RARE_WORD.toLowerCase() }) },
  { id: 'users_filter_none', what: '`get_users` with `filter`, no match', filter: true, run: s => s.users.list({ owner: BIG, limit: 50, filter: 'quokka' }) },
  { id: 'users_filter_common', what: '`get_users` with `filter`, every user matches', filter: true, run: s => s.users.list({ owner: BIG, limit: 50, filter: 'example.com' }) },
  { id: 'users_filter_short', what: '`get_users` with a 2-character `filter`, no match', filter: true, run: s => s.users.list({ owner: BIG, limit: 50, filter: 'q~' }) },
  { id: 'users_filter_short_few', what: '`get_users` with a 2-character `filter`, few matches', filter: true, run: s => s.users.list({ owner: BIG, limit: 50, filter: RARE_WORD.slice(1, 3).toLowerCase() }) },
  { id: 'users_filter_char', what: '`get_users` with a 1-character `filter`, every user matches', filter: true, run: s => s.users.list({ owner: BIG, limit: 50, filter: 'u' }) },
  { id: 'audit_principal', what: '`get_audit_events` by principal (rare)', run: s => s.audit.list({ principal: `${SMALL}/rare-principal`, limit: 50 }) },
  { id: 'audit_tool', what: '`get_audit_events` by tool (rare)', run: s => s.audit.list({ tool: 'rare_tool', limit: 50 }) },
  { id: 'audit_organization', what: '`get_audit_events` by organization (rare)', run: s => s.audit.list({ organization: SMALL, limit: 50 }) },
  { id: 'audit_organization_busy', what: '`get_audit_events`, the large organization\'s admin', run: s => s.audit.list({ organization: BIG, limit: 50 }) },
  { id: 'applications_small', what: '`get_applications` for a small owner', run: s => s.applications.list({ owner: SMALL, limit: 50 }) },
  { id: 'tokens_org', what: '`get_tokens` for one organization (the large one)', run: s => s.tokens.list({ owner: BIG, limit: 50 }) },
  { id: 'tokens_small', what: '`get_tokens` for a small organization', run: s => s.tokens.list({ owner: SMALL, limit: 50 }) }
]

interface Timing { p50: number, p99: number }

function percentile (sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]
}

async function measure (store: Store, seeded: Seeded, iterations: number): Promise<Record<string, Timing>> {
  const out: Record<string, Timing> = {}
  for (const op of OPERATIONS) {
    for (let i = 0; i < Math.min(20, iterations); i++) await op.run(store, seeded)
    const times: number[] = []
    for (let i = 0; i < iterations; i++) {
      const start = process.hrtime.bigint()
      await op.run(store, seeded)
      times.push(Number(process.hrtime.bigint() - start) / 1e6)
    }
    times.sort((a, b) => a - b)
    out[op.id] = { p50: median(times), p99: percentile(times, 0.99) }
  }
  return out
}

/** Opens, migrates and bootstraps a store on `url`; seeds it; refreshes statistics as a running service would have. */
async function prepared (url: string, users: number): Promise<{ handle: DatabaseHandle, store: Store, seeded: Seeded, seedSeconds: number }> {
  const config = readConfig({ DATABASE_URL: url, IAM_BOOTSTRAP_ADMIN_PASSWORD: 'bench-scale-password', IAM_BOOTSTRAP_CLIENT_SECRET: randomBytes(24).toString('base64url') })
  let handle = createDatabase(config.database)
  let store = new Store(handle.db, handle.engine, handle.durable)
  await migrate(handle, () => bootstrap(store, config, () => {}), warning => log(`warning: ${warning}`))
  const started = Date.now()
  const seeded = await seed(handle, users)
  const seedSeconds = (Date.now() - started) / 1000
  // Reopen, as after a restart: SQLite's `optimize` at open analyses what changed, and on
  // PostgreSQL autovacuum would have analysed the new rows by now.
  if (handle.engine === 'postgres') await sql`analyze`.execute(handle.db)
  await handle.close()
  handle = createDatabase(config.database)
  store = new Store(handle.db, handle.engine, handle.durable)
  await store.init()
  return { handle, store, seeded, seedSeconds }
}

interface EngineResult {
  engine: Engine
  sizes: Array<{ users: number, auditEvents: number, applications: number, tokens: number, seedSeconds: number, timings: Record<string, Timing> }>
}

async function runEngine (engine: Engine, settings: ScaleSettings, work: string): Promise<EngineResult | null> {
  const result: EngineResult = { engine, sizes: [] }
  for (const users of [settings.small, settings.large]) {
    let url: string
    let drop = async (): Promise<void> => {}
    if (engine === 'sqlite') {
      url = `sqlite:${join(work, `scale-${users}.db`)}`
    } else {
      const created = await createPostgresDatabase(settings.postgresUrl, 'iam_bench_scale', 'SQLite only')
      if (created === null) return null
      url = created.url
      drop = created.drop
    }
    try {
      log(`${engine}: seeding ${users.toLocaleString('en')} users …`)
      const { handle, store, seeded, seedSeconds } = await prepared(url, users)
      try {
        log(`${engine}: seeded in ${seedSeconds.toFixed(0)} s; measuring ${OPERATIONS.length} operations × ${settings.iterations}`)
        const timings = await measure(store, seeded, settings.iterations)
        result.sizes.push({ users: seeded.users, auditEvents: seeded.auditEvents, applications: seeded.applications, tokens: seeded.tokens, seedSeconds, timings })
      } finally {
        await handle.close()
      }
    } finally {
      if (process.env.BENCH_SCALE_KEEP === undefined) await drop()
      if (engine === 'sqlite' && process.env.BENCH_SCALE_KEEP === undefined) for (const suffix of ['', '-wal', '-shm']) rmSync(join(work, `scale-${users}.db${suffix}`), { force: true })
    }
  }
  return result
}

/** The bound the issue sets for an operation at the large size, or why it misses it. */
export function scaleVerdict (engine: Engine, op: Operation, small: Timing, large: Timing): string[] {
  const misses: string[] = []
  const bound = op.filter === true && engine === 'sqlite' ? 50 : 20
  if (large.p50 > Math.max(3 * small.p50, 1)) misses.push(`p50 grew ${fmt(large.p50 / small.p50, 1)}×`)
  if (large.p50 > bound) misses.push(`p50 over ${bound} ms`)
  if (large.p99 > 100) misses.push('p99 over 100 ms')
  return misses
}

function markdown (results: readonly EngineResult[]): string {
  const label = (n: number): string => n >= 1_000_000 && n % 1_000_000 === 0 ? `${n / 1_000_000}M` : n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n)
  const header = ['operation']
  for (const r of results) {
    const [a, b] = r.sizes
    header.push(`${r.engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'} ${label(a.users)} p50 / p99`, `${label(b.users)} p50 / p99`, 'growth')
  }
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`]
  for (const op of OPERATIONS) {
    const cells = [op.what]
    for (const r of results) {
      const a = r.sizes[0].timings[op.id]
      const b = r.sizes[1].timings[op.id]
      const misses = scaleVerdict(r.engine, op, a, b)
      cells.push(`${fmt(a.p50, 2)} / ${fmt(a.p99, 2)}`, `${fmt(b.p50, 2)} / ${fmt(b.p99, 2)}`, `${fmt(b.p50 / a.p50, 1)}×${misses.length > 0 ? ` (${misses.join(', ')})` : ''}`)
    }
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

function escapeXml (text: string): string {
  return text.replace(/[<>&"]/g, c => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string)
}

/** p50 per operation, small and large size per engine, on a log scale (0.01 ms … 1 s). */
export function scaleSvg (results: readonly EngineResult[]): string {
  const bars = results.flatMap(r => [0, 1].map(s => ({ engine: r.engine, size: r.sizes[s].users, timings: r.sizes[s].timings })))
  const colors = ['#9ecae1', '#3182bd', '#fdae6b', '#e6550d']
  const left = 330
  const width = 900
  const barH = 7
  const groupH = bars.length * barH + 10
  const top = 40
  const height = top + OPERATIONS.length * groupH + 40
  const x = (ms: number): number => left + (Math.log10(Math.max(ms, 0.01)) + 2) / 5 * (width - left - 20)
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    '<text x="10" y="18" font-size="14">iam-mcp scale probe: p50 per operation (ms, log scale), small and large size</text>']
  bars.forEach((b, i) => {
    parts.push(`<rect x="${left + i * 140}" y="26" width="10" height="8" fill="${colors[i % colors.length]}"/><text x="${left + i * 140 + 14}" y="34">${b.engine} ${b.size.toLocaleString('en')}</text>`)
  })
  for (const tick of [0.01, 0.1, 1, 10, 100, 1000]) {
    parts.push(`<line x1="${x(tick)}" y1="${top}" x2="${x(tick)}" y2="${height - 30}" stroke="#ddd"/><text x="${x(tick)}" y="${height - 16}" text-anchor="middle">${tick}</text>`)
  }
  OPERATIONS.forEach((op, g) => {
    const y0 = top + g * groupH
    parts.push(`<text x="${left - 6}" y="${y0 + groupH / 2 + 3}" text-anchor="end">${escapeXml(op.what.replace(/`/g, '').slice(0, 60))}</text>`)
    bars.forEach((b, i) => {
      const ms = b.timings[op.id].p50
      parts.push(`<rect x="${left}" y="${y0 + i * barH}" width="${Math.max(1, x(ms) - left).toFixed(1)}" height="${barH - 1}" fill="${colors[i % colors.length]}"><title>${b.engine} ${b.size}: ${fmt(ms, 2)} ms</title></rect>`)
    })
  })
  parts.push('</svg>')
  return parts.join('\n')
}

export async function scaleMain (settings: ScaleSettings): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'iam-bench-scale-'))
  const startedAt = new Date()
  log(`iam-mcp scale probe: ${settings.small.toLocaleString('en')} and ${settings.large.toLocaleString('en')} users, ${settings.iterations} iterations per operation; work dir ${work}`)
  try {
    const results: EngineResult[] = []
    let bulkRevocation: BulkRevokeOutcome[] = []
    // Written after each step: a run at a million rows is long, and the first half is worth keeping.
    const write = (): void => {
      mkdirSync(settings.outDir, { recursive: true })
      writeFileSync(join(settings.outDir, 'results-scale.json'), JSON.stringify({ startedAt: startedAt.toISOString(), settings: { ...settings, outDir: undefined }, results, bulkRevocation }, null, 2) + '\n')
      writeFileSync(join(settings.outDir, 'results-scale.svg'), scaleSvg(results) + '\n')
      process.stdout.write(`\n${markdown(results)}\n`)
      if (bulkRevocation.length > 0) process.stdout.write(`\n${bulkRevokeMarkdown(bulkRevocation)}\n`)
      log(`wrote ${join(settings.outDir, 'results-scale.json')} and results-scale.svg`)
    }
    for (const engine of settings.engines) {
      const result = await runEngine(engine, settings, work)
      if (result === null) continue
      results.push(result)
      write()
    }
    if (settings.bulkTokens > 0) {
      log(`revoking ${settings.bulkTokens.toLocaleString('en')} tokens at once (delete_application) …`)
      bulkRevocation = await bulkRevoke(settings.bulkTokens, settings.engines, settings.postgresUrl)
      write()
    }
  } finally {
    if (process.env.BENCH_SCALE_KEEP === undefined) rmSync(work, { recursive: true, force: true })
  }
}
