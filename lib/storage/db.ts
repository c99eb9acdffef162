import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import SQLite from 'better-sqlite3'
import pg from 'pg'
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely'
import type { AppConfig } from '../config.js'
import type { Database } from './schema.js'
import { migrationProvider } from './migrations.js'

// BIGINT columns hold millisecond timestamps, far below 2^53: read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value))

export type Engine = 'sqlite' | 'postgres'
export type DB = Kysely<Database>

export interface DatabaseHandle {
  db: DB
  engine: Engine
  close: () => Promise<void>
}

export function createDatabase (database: AppConfig['database']): DatabaseHandle {
  if (database.engine === 'sqlite') {
    if (database.path !== ':memory:') mkdirSync(dirname(database.path), { recursive: true })
    const sqlite = new SQLite(database.path)
    sqlite.pragma('journal_mode = WAL')
    // FULL: an acknowledged write survives a crash of the process and of the machine.
    sqlite.pragma('synchronous = FULL')
    sqlite.pragma('foreign_keys = ON')
    sqlite.pragma('busy_timeout = 5000')
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
    return { db, engine: 'sqlite', close: () => db.destroy() }
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
  return { db, engine: 'postgres', close: () => db.destroy() }
}

/** A lock id shared by every instance: only one migrates (and bootstraps) at a time. */
const MIGRATION_LOCK = 4242001

/**
 * Runs pending migrations, then `andThen` (the bootstrap), under one cluster-wide lock on
 * PostgreSQL so that instances starting together on an empty database do not race.
 */
export async function migrate (handle: DatabaseHandle, andThen?: (db: DB) => Promise<void>): Promise<void> {
  if (handle.engine === 'sqlite') {
    await runMigrations(handle.db)
    if (andThen) await andThen(handle.db)
    return
  }
  await handle.db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn)
    try {
      await runMigrations(conn)
      if (andThen) await andThen(conn)
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn)
    }
  })
}

async function runMigrations (db: DB): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider })
  const { error, results } = await migrator.migrateToLatest()
  const failed = results?.find(r => r.status === 'Error')
  if (error !== undefined) {
    const cause = error instanceof Error ? error.message : String(error)
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${cause}`)
  }
}

/** A cheap round trip, for readiness. */
export async function ping (db: DB): Promise<void> {
  await sql`select 1`.execute(db)
}
