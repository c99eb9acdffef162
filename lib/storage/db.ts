import { mkdirSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import SQLite from 'better-sqlite3'
import pg from 'pg'
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type SqliteDatabase, type Transaction } from 'kysely'
import type { AppConfig } from '../config.js'
import type { Database } from './schema.js'
import { migrationProvider } from './migrations.js'
import { preparePostgresSearch } from './search.js'

// BIGINT columns hold millisecond timestamps, far below 2^53: read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value))

export type Engine = 'sqlite' | 'postgres'
export type DB = Kysely<Database>
/** Queries over one connection or transaction. */
export type Queryable = DB | Transaction<Database>

export interface DatabaseHandle {
  db: DB
  engine: Engine
  close: () => Promise<void>
  /** Resolves once every write committed before the call is on stable storage. */
  durable: () => Promise<void>
}

/**
 * Group commit for SQLite in WAL mode with `synchronous = NORMAL`: a commit appends its frames
 * to the WAL without waiting for the disk (so it survives a crash of the process at once), and
 * `durable()` fsyncs the WAL on libuv's thread pool, off the event loop. One fsync covers every
 * commit made before it started, so concurrent writers share it instead of each blocking the
 * whole process for an fsync (4–8 ms on this machine) as `synchronous = FULL` does. SQLite
 * itself syncs the WAL before a checkpoint and the database file after one.
 */
export function walSyncer (walPath: string): { durable: () => Promise<void>, close: () => Promise<void> } {
  let file: FileHandle | undefined
  let running: Promise<void> | undefined
  let queued: Promise<void> | undefined
  async function syncOnce (): Promise<void> {
    try {
      file ??= await open(walPath, 'r+')
    } catch (err) {
      // No WAL file: nothing has been written that could be lost.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw err
    }
    await file.sync()
  }
  function durable (): Promise<void> {
    if (running === undefined) {
      running = syncOnce().finally(() => { running = undefined })
      return running
    }
    // An fsync is under way, but it may have started before the caller's commit: the next one,
    // shared by everyone who arrives meanwhile, covers it.
    queued ??= running.catch(() => {}).then(() => {
      queued = undefined
      return durable()
    })
    return queued
  }
  return {
    durable,
    async close () {
      await Promise.allSettled([running, queued])
      await file?.close()
      file = undefined
    }
  }
}

/** Prepared statements kept per SQL text, at most this many (least recently used go first). */
const STATEMENT_CACHE_MAX = 200
/**
 * Longer SQL is not kept: multi-row inserts (audit batches) differ in length every time, and
 * their compiled programs are large.
 */
const STATEMENT_CACHE_SQL_MAX = 2048

/**
 * better-sqlite3 as Kysely sees it, with its prepared statements kept: Kysely prepares every
 * query anew, and SQLite's parse and plan of a statement can cost more than running it. Safe
 * with one connection used by one query at a time, which is how Kysely's SQLite driver works.
 */
export function withStatementCache (sqlite: SQLite.Database, max = STATEMENT_CACHE_MAX): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>()
  return {
    prepare (text: string) {
      if (text.length > STATEMENT_CACHE_SQL_MAX) return sqlite.prepare(text)
      let statement = statements.get(text)
      if (statement !== undefined) {
        statements.delete(text)
      } else {
        statement = sqlite.prepare(text)
        if (statements.size >= max) statements.delete(statements.keys().next().value as string)
      }
      statements.set(text, statement)
      return statement
    },
    close () {
      statements.clear()
      sqlite.close()
    }
  }
}

/**
 * How often SQLite refreshes the planner's statistics (`PRAGMA optimize`, which re-analyses only
 * the tables that changed enough to need it): the docs advise every few hours for a
 * long-lived connection. Without statistics, SQLite guesses, and can sort a whole organization
 * to return one page.
 */
const SQLITE_OPTIMIZE_INTERVAL_MS = 3 * 60 * 60 * 1000
/** Rows ANALYZE samples per index on SQLite: statistics stay approximate, and cheap at any size. */
const SQLITE_ANALYSIS_LIMIT = 1000

export function createDatabase (database: AppConfig['database']): DatabaseHandle {
  if (database.engine === 'sqlite') {
    if (database.path !== ':memory:') mkdirSync(dirname(database.path), { recursive: true })
    const sqlite = new SQLite(database.path)
    sqlite.pragma('journal_mode = WAL')
    // NORMAL: a commit survives a crash of the process at once; an acknowledged tool write also
    // survives a crash of the machine, because it waits for `durable()` (see walSyncer).
    sqlite.pragma('synchronous = NORMAL')
    sqlite.pragma('foreign_keys = ON')
    sqlite.pragma('busy_timeout = 5000')
    sqlite.pragma(`analysis_limit = ${SQLITE_ANALYSIS_LIMIT}`)
    // At open, every table (0x10000) whose statistics are missing or stale is analysed (0x02).
    sqlite.pragma('optimize = 0x10002')
    const optimizer = setInterval(() => {
      try { sqlite.pragma('optimize') } catch {}
    }, SQLITE_OPTIMIZE_INTERVAL_MS)
    optimizer.unref()
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) })
    const wal = database.path === ':memory:' ? undefined : walSyncer(`${database.path}-wal`)
    return {
      db,
      engine: 'sqlite',
      durable: wal?.durable ?? (async () => {}),
      async close () {
        clearInterval(optimizer)
        try { sqlite.pragma('optimize') } catch {}
        await wal?.close()
        await db.destroy()
      }
    }
  }
  const pool = new pg.Pool({
    connectionString: database.url,
    max: 10,
    // A database that does not answer must fail requests fast, not queue them forever.
    connectionTimeoutMillis: 2000,
    idleTimeoutMillis: 30000
  })
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => {})
  // Nor one checked out between two queries (pg-pool listens only while a client is idle): the
  // query in progress gets the error, the pool discards the broken client on release.
  pool.on('connect', (client) => { client.on('error', () => {}) })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  // A PostgreSQL commit is durable by itself.
  return { db, engine: 'postgres', close: () => db.destroy(), durable: async () => {} }
}

/** A lock id shared by every instance: only one migrates (and bootstraps) at a time. */
const MIGRATION_LOCK = 4242001

/**
 * Runs pending migrations, then `andThen` (the bootstrap), under one cluster-wide lock on
 * PostgreSQL so that instances starting together on an empty database do not race. `warn`
 * hears what works, but slower than it should (no trigram indexes on PostgreSQL).
 */
export async function migrate (handle: DatabaseHandle, andThen?: (db: DB) => Promise<void>, warn?: (message: string) => void): Promise<void> {
  if (handle.engine === 'sqlite') {
    // A migration that adds indexes leaves the planner without statistics for them.
    if (await runMigrations(handle.db)) await sql`analyze`.execute(handle.db)
    if (andThen) await andThen(handle.db)
    return
  }
  await handle.db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn)
    try {
      const migrated = await runMigrations(conn)
      const warning = await preparePostgresSearch(conn)
      if (warning !== undefined) warn?.(warning)
      // Autovacuum analyses in time, but only once enough rows changed: not after new indexes.
      if (migrated) await sql`analyze`.execute(conn)
      if (andThen) await andThen(conn)
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn)
    }
  })
}

/** True when a migration ran. */
async function runMigrations (db: DB): Promise<boolean> {
  const migrator = new Migrator({ db, provider: migrationProvider })
  const { error, results } = await migrator.migrateToLatest()
  const failed = results?.find(r => r.status === 'Error')
  if (error !== undefined) {
    const cause = error instanceof Error ? error.message : String(error)
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${cause}`)
  }
  return (results ?? []).length > 0
}

/** A cheap round trip, for readiness. */
export async function ping (db: DB): Promise<void> {
  await sql`select 1`.execute(db)
}
