import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import pg from 'pg'
import type { Test } from 'tap'
import app, { serverOptions, type AppOptions } from '../app.js'
import { readConfig } from '../lib/config.js'

process.env.FASTIFY_AUTOLOAD_TYPESCRIPT = '1'

/** A tap test object, as far as these helpers need one. */
export interface TestContext {
  teardown: (fn: () => void | Promise<void>) => void
}

/**
 * tap wraps child_process and puts its coverage loader back into every child's NODE_OPTIONS.
 * The server must run without it: coverage of the same sources compiled by tsx instead of
 * ts-node cannot be merged with the tests' and garbles the report. `env` (which execs node, so
 * signals reach the server itself) removes it after tap's wrapper has added it.
 */
export const WITHOUT_TAP = ['-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE']

/** Known bootstrap credentials, so tests can sign in and use the bootstrap application. */
export const ADMIN = { username: 'admin', password: 'admin-password-for-tests' }
export const BOOTSTRAP_CLIENT = { id: 'test-bootstrap-client', secret: 'test-bootstrap-secret-0123456789' }

/**
 * Where PostgreSQL tests connect: `PG_TEST_URL`, else the local server CI provides. Each test
 * file gets a database of its own, created here and dropped at teardown.
 */
export const PG_URL = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

let pgAvailable: Promise<boolean> | undefined
export function postgresAvailable (): Promise<boolean> {
  pgAvailable ??= (async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 })
    try {
      await client.connect()
      await client.query('select 1')
      return true
    } catch {
      return false
    } finally {
      await client.end().catch(() => {})
    }
  })()
  return pgAvailable
}

/**
 * Skips the test (with a message naming what is missing) when PostgreSQL is not reachable;
 * under CI, where .ci/run starts it, a missing PostgreSQL is a failure instead.
 */
export async function requirePostgres (t: Test): Promise<boolean> {
  if (await postgresAvailable()) return true
  if (process.env.CI === 'true') t.fail(`PostgreSQL is not reachable at ${PG_URL}; CI must start it`)
  else t.skip(`PostgreSQL not reachable at ${PG_URL}: skipping the PostgreSQL suite (set PG_TEST_URL or start PostgreSQL)`, () => {})
  return false
}

/** A fresh, empty PostgreSQL database; dropped at teardown. */
export async function createPostgresDatabase (t: TestContext): Promise<string> {
  const name = `iam_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: PG_URL })
    await c.connect()
    await c.query(`drop database if exists ${name} with (force)`).catch(() => {})
    await c.end()
  })
  const url = new URL(PG_URL)
  url.pathname = `/${name}`
  return url.toString()
}

/** A fresh SQLite file in its own temporary folder; removed at teardown. */
export function createSqliteDatabase (t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'iam-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return `sqlite:${join(dir, 'iam.db')}`
}

/**
 * The database the general suite runs on: SQLite by default; PostgreSQL when
 * `TEST_DATABASE=postgres` (CI runs the whole suite once on each).
 */
export async function testDatabaseUrl (t: TestContext): Promise<string> {
  if (process.env.TEST_DATABASE === 'postgres') return await createPostgresDatabase(t)
  return createSqliteDatabase(t)
}

export interface BuildOptions extends Omit<AppOptions, 'env'> {
  /** Settings on top of the test defaults (a fresh database, known bootstrap credentials). */
  env?: Record<string, string | undefined>
  /** Keep the app's log lines (JSON) in this array instead of discarding them. */
  logs?: string[]
  /** Runs after the app is registered and before `ready()`: for test-only routes. */
  extend?: (fastify: FastifyInstance) => void | Promise<void>
}

export async function testEnv (t: TestContext, env: Record<string, string | undefined> = {}): Promise<Record<string, string | undefined>> {
  return {
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    IAM_BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
    IAM_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    IAM_BOOTSTRAP_CLIENT_ID: BOOTSTRAP_CLIENT.id,
    IAM_BOOTSTRAP_CLIENT_SECRET: BOOTSTRAP_CLIENT.secret,
    DATABASE_URL: env.DATABASE_URL ?? await testDatabaseUrl(t),
    ...env
  }
}

/** The service, ready but not listening: for `app.inject` tests. Closed at teardown. */
export async function build (t: TestContext, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const env = await testEnv(t, opts.env)
  const config = readConfig(env)
  const options = serverOptions(config)
  if (opts.logs !== undefined) {
    const logs = opts.logs
    options.logger = { ...(options.logger as object), level: env.LOG_LEVEL === 'silent' ? 'info' : env.LOG_LEVEL, stream: { write: (line: string) => { logs.push(line) } } } as never
  }
  const fastify = Fastify(options)
  const { extend, logs: _logs, ...appOptions } = opts
  // fp: the app's decorators (store, tools, config…) are visible on the instance tests hold.
  await fastify.register(fp(app), { printSecret: () => {}, ...appOptions, env })
  if (extend !== undefined) await extend(fastify)
  t.teardown(() => fastify.close())
  await fastify.ready()
  return fastify
}

/** The service listening on a free loopback port; `base` is its public origin. */
export async function listen (t: TestContext, opts: BuildOptions = {}): Promise<{ app: FastifyInstance, base: string }> {
  const fastify = await build(t, opts)
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  return { app: fastify, base: fastify.publicBase() }
}
