import { test } from 'tap'
import pg from 'pg'
import { build, createPostgresDatabase, createSqliteDatabase, requirePostgres, PG_URL } from '../helper.js'

test('bootstrap: the first start creates and prints generated secrets once; a later start changes nothing', async (t) => {
  const url = createSqliteDatabase(t)
  const printed: string[] = []
  const env = { DATABASE_URL: url, IAM_BOOTSTRAP_ADMIN_PASSWORD: undefined, IAM_BOOTSTRAP_CLIENT_ID: undefined, IAM_BOOTSTRAP_CLIENT_SECRET: undefined }
  const first = await build(t, { env, printSecret: line => printed.push(line) })
  t.equal(printed.length, 3, 'admin password, client id and client secret')
  t.match(printed[0], /password of the global admin "admin": \S{20,}/)
  const secret = /client secret of "app-built-in": (\S+)/.exec(printed[2])?.[1]
  const clientId = /client id of "app-built-in": (\S+)/.exec(printed[1])?.[1]
  t.ok(secret !== undefined && clientId !== undefined)
  const app = await first.store.applications.authenticate(clientId!, secret!)
  t.match(app, { name: 'app-built-in', owner: 'built-in', scopes: ['admin'] })
  const password = /: (\S+) {2}\(shown once/.exec(printed[0])?.[1]
  t.ok(await first.store.users.authenticate('built-in', 'admin', password!), 'the printed password works')
  const snapshot = async (f: typeof first) => ({
    orgs: await f.db.selectFrom('organizations').selectAll().execute(),
    users: await f.db.selectFrom('users').selectAll().execute(),
    apps: await f.db.selectFrom('applications').selectAll().execute(),
    keys: await f.db.selectFrom('signing_keys').selectAll().execute()
  })
  const before = await snapshot(first)
  await first.close()

  printed.length = 0
  const second = await build(t, {
    env: { ...env, IAM_BOOTSTRAP_ADMIN_PASSWORD: 'a-different-password', IAM_BOOTSTRAP_CLIENT_SECRET: 'a-different-secret-123456' },
    printSecret: line => printed.push(line)
  })
  t.same(printed, [], 'nothing printed on a later start')
  t.same(await snapshot(second), before, 'nothing that exists changed')
  t.ok(await second.store.applications.authenticate(clientId!, secret!), 'the original secret still works')
})

test('bootstrap uses configured credentials and prints nothing', async (t) => {
  const printed: string[] = []
  const app = await build(t, { printSecret: line => printed.push(line) })
  t.same(printed, [])
  t.ok(await app.store.users.authenticate('built-in', 'admin', 'admin-password-for-tests'))
  t.ok(await app.store.applications.authenticate('test-bootstrap-client', 'test-bootstrap-secret-0123456789'))
})

test('metrics: request counts and latencies by route and status', async (t) => {
  const app = await build(t)
  await app.inject({ method: 'GET', url: '/health/live' })
  await app.inject({ method: 'GET', url: '/no/such/path/12345' })
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/plain/)
  t.match(res.body, /http_requests_total\{method="GET",route="\/health\/live",status="200"\} 1/)
  t.match(res.body, /http_request_duration_seconds_bucket\{le="0.001",method="GET",route="\/health\/live",status="200"\}/)
  t.notMatch(res.body, /no\/such\/path/, 'unknown paths do not become series')
})

test('not found and errors: JSON, and nothing internal on a 5xx', async (t) => {
  const app = await build(t, {
    extend (fastify) {
      fastify.get('/test/boom', async () => { throw new Error('secret internal detail at db.ts:42') })
      fastify.get('/test/teapot', async () => { throw Object.assign(new Error('short and stout'), { statusCode: 418 }) })
    }
  })
  const missing = await app.inject({ method: 'GET', url: '/nope' })
  t.equal(missing.statusCode, 404)
  t.match(missing.json(), { statusCode: 404, error: 'Not Found' })
  const boom = await app.inject({ method: 'GET', url: '/test/boom' })
  t.equal(boom.statusCode, 500)
  t.same(boom.json(), { statusCode: 500, error: 'Internal Server Error', message: 'internal error' })
  t.notMatch(boom.body, /secret internal detail|db\.ts|at /)
  const teapot = await app.inject({ method: 'GET', url: '/test/teapot' })
  t.equal(teapot.statusCode, 418)
  t.equal(teapot.json().message, 'short and stout', 'messages below 500 are shown')
})

test('logs never hold credentials', async (t) => {
  const logs: string[] = []
  const app = await build(t, {
    logs,
    env: { LOG_LEVEL: 'info' },
    extend (fastify) {
      fastify.post('/test/echo', async (request) => {
        request.log.info({ body: request.body }, 'got body')
        return { ok: true }
      })
    }
  })
  const secrets = ['Bearer-abc.def.ghi-secret', 'cookie-session-secret', 'query-token-secret', 'body-password-secret', 'body-client-secret']
  await app.inject({
    method: 'GET',
    url: `/health/live?access_token=${secrets[2]}&x=1`,
    headers: { authorization: `Bearer ${secrets[0]}`, cookie: `sid=${secrets[1]}` }
  })
  await app.inject({ method: 'POST', url: '/test/echo', payload: { password: secrets[3], client_secret: secrets[4], user: 'x' } })
  const all = logs.join('\n')
  t.equal(logs.filter(l => l.includes('"msg":"request completed"')).length, 2, 'one access-log line per request')
  t.match(all, /\/health\/live\?access_token=%5BRedacted%5D&x=1/)
  for (const secret of secrets) t.notOk(all.includes(secret), `log holds no ${secret}`)
})

test('PostgreSQL: readiness is 503 while the database is unreachable, and recovers by itself', async (t) => {
  if (!await requirePostgres(t)) return
  const url = await createPostgresDatabase(t)
  const name = new URL(url).pathname.slice(1)
  const app = await build(t, { env: { DATABASE_URL: url } })
  t.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200)
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  t.teardown(() => admin.end())
  await admin.query(`alter database ${name} allow_connections false`)
  await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name])
  const down = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(down.statusCode, 503)
  t.same(down.json(), { status: 'database unavailable' })
  t.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200, 'liveness does not depend on the database')
  await admin.query(`alter database ${name} allow_connections true`)
  // A connection the database killed is noticed and replaced by the pool on its next use.
  let status = 0
  for (let i = 0; i < 50 && status !== 200; i++) {
    status = (await app.inject({ method: 'GET', url: '/health/ready' })).statusCode
    if (status !== 200) await new Promise(resolve => setTimeout(resolve, 100))
  }
  t.equal(status, 200, 'recovered without a restart')
})
