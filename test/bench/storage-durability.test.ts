// The storage changes the benchmark led to: SQLite's group commit and statement cache.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'
import SQLite from 'better-sqlite3'
import { createDatabase, walSyncer, withStatementCache } from '../../lib/storage/db.js'
import { sql } from 'kysely'

function tempDir (t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'iam-durable-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('walSyncer: callers during an fsync share the next one; every call resolves', async (t) => {
  const dir = tempDir(t)
  const wal = join(dir, 'x.db-wal')
  writeFileSync(wal, 'frames')
  const syncer = walSyncer(wal)
  const first = syncer.durable()
  const second = syncer.durable()
  const third = syncer.durable()
  t.not(first, second, 'a call during an fsync waits for the next one')
  t.equal(second, third, 'everyone who arrives meanwhile shares that next fsync')
  await Promise.all([first, second, third])
  await t.resolves(Promise.all(Array.from({ length: 20 }, () => syncer.durable())))
  await syncer.close()
  await syncer.close()
})

test('walSyncer: no WAL file means nothing to lose; other errors reject', async (t) => {
  const dir = tempDir(t)
  const missing = walSyncer(join(dir, 'absent.db-wal'))
  await t.resolves(missing.durable())
  await missing.close()
  const broken = walSyncer(dir) // a directory cannot be opened for writing
  await t.rejects(broken.durable())
  await broken.close()
})

test('withStatementCache: one prepared statement per SQL text, bounded', async (t) => {
  const sqlite = new SQLite(':memory:')
  const db = withStatementCache(sqlite, 2)
  const a = db.prepare('select 1 as one')
  t.equal(db.prepare('select 1 as one'), a, 'the same text reuses the statement')
  db.prepare('select 2 as two')
  db.prepare('select 3 as three') // evicts the least recently used ("select 1")
  t.not(db.prepare('select 1 as one'), a, 'evicted past the bound, prepared again')
  t.same(db.prepare('select 1 as one').all([]), [{ one: 1 }])
  const long = `select 1 as one${' '.repeat(3000)}`
  t.not(db.prepare(long), db.prepare(long), 'long SQL (multi-row inserts) is not kept')
  db.close()
  t.equal(sqlite.open, false)
})

test('SQLite: WAL with synchronous NORMAL, durable() after writes, cached statements through Kysely', async (t) => {
  const dir = tempDir(t)
  const handle = createDatabase({ engine: 'sqlite', path: join(dir, 'iam.db') })
  t.teardown(() => handle.close())
  const mode = await sql<{ synchronous: number }>`pragma synchronous`.execute(handle.db)
  t.equal(mode.rows[0].synchronous, 1, 'NORMAL: the fsync is durable()\'s, off the event loop')
  await sql`create table t (id integer primary key, v text)`.execute(handle.db)
  for (let i = 0; i < 3; i++) await sql`insert into t (v) values (${`v${i}`})`.execute(handle.db)
  await t.resolves(Promise.all([handle.durable(), handle.durable(), handle.durable()]))
  const rows = await sql<{ n: number }>`select count(*) as n from t`.execute(handle.db)
  t.equal(rows.rows[0].n, 3)

  const memory = createDatabase({ engine: 'sqlite', path: ':memory:' })
  await t.resolves(memory.durable(), 'in memory: nothing to sync')
  await memory.close()
})
