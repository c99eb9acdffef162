/**
 * `node --import tsx bench/bulk-revoke.ts` — how long deleting an application holding
 * BULK_TOKENS (50,000) live tokens takes on each engine, and the longest a concurrent read waits
 * meanwhile. The store runs in this process, as in the service: a reader loops over
 * `tokens.find` (one indexed read, what a request's lookup costs) during the delete, and each
 * read's latency is recorded. Seeds with multi-row inserts. PostgreSQL at BENCH_PG_URL
 * (default postgres://postgres@127.0.0.1:5432/test) on a database of its own, dropped after;
 * BENCH_PG=off skips it. BULK_CLIENT_INDEX=1 adds an index on tokens(client_id) first.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { sql } from 'kysely'
import { createDatabase, migrate } from '../lib/storage/db.js'
import { Store } from '../lib/storage/store.js'
import { readConfig } from '../lib/config.js'
import { bootstrap } from '../lib/bootstrap.js'

const TOKENS = Math.floor(Number(process.env.BULK_TOKENS ?? 50_000))
const SEED_CHUNK = 1000

interface Outcome { engine: string, tokens: number, deleteMs: number, reads: number, maxReadMs: number, p99ReadMs: number }

async function measure (engine: string, url: string): Promise<Outcome> {
  const config = readConfig({ DATABASE_URL: url, IAM_BOOTSTRAP_ADMIN_PASSWORD: 'bench-password', IAM_BOOTSTRAP_CLIENT_SECRET: 'bench-secret-0123456789' })
  const handle = createDatabase(config.database)
  try {
    const store = new Store(handle.db, handle.engine)
    await migrate(handle, () => bootstrap(store, config, () => {}))
    await store.organizations.create({ name: 'bulk' })
    const { application: app } = await store.applications.create({ owner: 'bulk', name: 'bulk-app' })
    const now = Date.now()
    for (let i = 0; i < TOKENS; i += SEED_CHUNK) {
      const rows = []
      for (let j = i; j < Math.min(TOKENS, i + SEED_CHUNK); j++) {
        rows.push({ id: `t${String(j).padStart(7, '0')}`, kind: 'access', subject: 'built-in/admin', subject_kind: 'user', client_id: app.clientId, scope: '', audience: '', family_id: null, session_id: null, code_id: null, expires_at: now + 3600_000, created_at: now, revoked_at: null, used_at: null })
      }
      await store.db.insertInto('tokens').values(rows).execute()
    }
    if (process.env.BULK_CLIENT_INDEX === '1') await sql`create index if not exists tokens_client on tokens (client_id)`.execute(store.db)
    // A request arriving every millisecond while the delete runs: how long from its arrival
    // (the timer's due time) to its read's answer, so that time spent blocked behind a batch
    // (SQLite's statements run on the event loop) counts.
    const latencies: number[] = []
    const state = { done: false }
    const reader = (async () => {
      let i = 0
      while (!state.done) {
        const due = performance.now() + 1
        await new Promise(resolve => setTimeout(resolve, 1))
        await store.tokens.find(`t${String(i++ % TOKENS).padStart(7, '0')}`)
        latencies.push(performance.now() - due)
      }
    })()
    const started = performance.now()
    await store.applications.delete(app.id)
    const deleteMs = performance.now() - started
    state.done = true
    await reader
    const revoked = await store.db.selectFrom('tokens').select(eb => eb.fn.countAll<number>().as('n')).where('client_id', '=', app.clientId).where('revoked_at', 'is not', null).executeTakeFirstOrThrow()
    if (Number(revoked.n) !== TOKENS) throw new Error(`${engine}: ${revoked.n} of ${TOKENS} revoked`)
    latencies.sort((a, b) => a - b)
    return { engine, tokens: TOKENS, deleteMs, reads: latencies.length, maxReadMs: latencies.at(-1) ?? 0, p99ReadMs: latencies[Math.floor(latencies.length * 0.99)] ?? 0 }
  } finally {
    await handle.close()
  }
}

async function main (): Promise<void> {
  const outcomes: Outcome[] = []
  const dir = mkdtempSync(join(tmpdir(), 'iam-bulk-'))
  try {
    outcomes.push(await measure('SQLite', `sqlite:${join(dir, 'iam.db')}`))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  if (process.env.BENCH_PG !== 'off') {
    const base = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
    const name = `iam_bulk_${randomBytes(6).toString('hex')}`
    const admin = new pg.Client({ connectionString: base })
    await admin.connect()
    await admin.query(`create database ${name}`)
    try {
      const url = new URL(base)
      url.pathname = `/${name}`
      outcomes.push(await measure('PostgreSQL', url.toString()))
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`)
      await admin.end()
    }
  }
  console.log('| engine | tokens | delete_application ms | concurrent reads | longest wait ms | p99 wait ms |')
  console.log('|---|---:|---:|---:|---:|---:|')
  for (const o of outcomes) console.log(`| ${o.engine} | ${o.tokens.toLocaleString('en-US')} | ${o.deleteMs.toFixed(0)} | ${o.reads} | ${o.maxReadMs.toFixed(1)} | ${o.p99ReadMs.toFixed(1)} |`)
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
