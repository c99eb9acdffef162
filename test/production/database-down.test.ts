import { test } from 'tap'
import pg from 'pg'
import { PG_URL, createPostgresDatabase, requirePostgres } from '../helper.js'
import { INTERNALS, basic, callTool, request, sleep, startServer, succeeded, type HttpAnswer } from './process.js'

/**
 * The database goes away (PostgreSQL refuses new connections and drops the open ones): readiness
 * says 503, MCP calls get HTTP 503 with JSON-RPC -32603 and nothing internal, and the service
 * recovers on its own once the database takes connections again — no restart.
 */

async function admin<T> (fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

async function setConnections (name: string, allowed: boolean): Promise<void> {
  await admin(async (c) => {
    await c.query(`alter database ${name} allow_connections ${allowed ? 'true' : 'false'}`)
    if (!allowed) await c.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name])
  })
}

/**
 * Retries `probe` until `done` holds for its answer, for at most `ms`; the last answer. A
 * connection error is an answer with status 0 (and fails whatever expects a status).
 */
async function until (ms: number, probe: () => Promise<HttpAnswer>, done: (a: HttpAnswer) => boolean): Promise<HttpAnswer> {
  const deadline = Date.now() + ms
  const attempt = async (): Promise<HttpAnswer> => {
    try {
      return await probe()
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message
      return { status: 0, headers: new Headers(), text: `connection failed: ${cause}`, json: undefined }
    }
  }
  let last = await attempt()
  while (!done(last) && Date.now() < deadline) {
    await sleep(200)
    last = await attempt()
  }
  return last
}

test('database down: 503 and a clean -32603, then recovery without a restart', async (t) => {
  if (!await requirePostgres(t)) return
  const url = await createPostgresDatabase(t)
  const name = new URL(url).pathname.slice(1)
  t.teardown(async () => { await setConnections(name, true).catch(() => {}) })
  const server = await startServer(t, { DATABASE_URL: url })
  const auth = basic()

  const ready = (): Promise<HttpAnswer> => request(`${server.base}/health/ready`, { timeoutMs: 15_000 })
  const listUsers = (): Promise<HttpAnswer> => callTool(server.base, auth, 'get_users', { owner: 'built-in' })
  const addUser = (n: string): Promise<HttpAnswer> => callTool(server.base, auth, 'add_user', { owner: 'built-in', name: n })

  t.ok(succeeded(await listUsers()), 'calls work while the database is up')
  t.equal((await ready()).status, 200, 'ready while the database is up')

  await setConnections(name, false)

  const notReady = await until(15_000, ready, a => a.status === 503)
  t.equal(notReady.status, 503, `/health/ready answers 503 (${notReady.text.slice(0, 100)})`)
  if (notReady.status === 0) t.comment(server.output().slice(-6000))
  t.notMatch(notReady.text, INTERNALS, 'readiness leaks nothing internal')
  t.equal((await request(`${server.base}/health/live`)).status, 200, '/health/live still answers 200: the process is fine')

  for (const [what, probe] of [['get_users', listUsers], ['add_user', () => addUser('while-down')]] as const) {
    const res = await until(15_000, probe, a => a.status === 503)
    t.equal(res.status, 503, `${what}: HTTP 503`)
    t.equal(res.json?.jsonrpc, '2.0', `${what}: a JSON-RPC answer`)
    t.equal(res.json?.error?.code, -32603, `${what}: error -32603`)
    t.notMatch(res.text, INTERNALS, `${what}: no stack trace or driver message (${res.text.slice(0, 200)})`)
  }
  t.equal(server.exited !== undefined && server.child.exitCode, null, 'the server is still running')

  await setConnections(name, true)
  const back = await until(30_000, ready, a => a.status === 200)
  t.equal(back.status, 200, 'ready again by itself once the database takes connections')
  const works = await until(30_000, () => addUser('after-recovery'), succeeded)
  t.ok(succeeded(works), `tool calls work again without a restart: ${works.text.slice(0, 200)}`)
  const absent = await callTool(server.base, auth, 'get_user', { id: 'built-in/while-down' })
  t.equal(absent.json?.result?.isError, true, 'the call refused while down wrote nothing')
  t.equal(server.child.exitCode, null, 'never restarted')
})
