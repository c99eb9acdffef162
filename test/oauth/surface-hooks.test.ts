import { test } from 'tap'
import { build, BOOTSTRAP_CLIENT } from '../helper.js'
import { StoreError } from '../../lib/storage/errors.js'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const wrongBasic = 'Basic ' + Buffer.from(`${BOOTSTRAP_CLIENT.id}:not-the-secret`).toString('base64')

/**
 * What each OAuth surface's autohooks.ts sets once for its routes: the per-route limit of the
 * surface (the token endpoint keeps its own count) and the answer to a database outage.
 */
test('OAuth surfaces: route limits and database outages, set once per folder', async (t) => {
  const app = await build(t, { env: { PUBLIC_URL: 'https://iam.example.com', RATE_LIMIT_MAX: '120', REGISTRATION: 'open' } })
  const post = (url: string, payload: string | object, headers: Record<string, string> = FORM) => app.inject({ method: 'POST', url, headers, payload })

  t.test('each route carries its surface limit; the token endpoint counts on its own', async (t) => {
    const introspect = await post('/api/login/oauth/introspect', 'token=x')
    const revoke = await post('/api/login/oauth/revoke', 'token=x')
    const register = await post('/api/oauth/register', { redirect_uris: ['https://client.example/cb'] }, {})
    const token = await post('/api/login/oauth/access_token', 'grant_type=client_credentials')
    t.equal(introspect.headers['x-ratelimit-limit'], '120', 'introspection: RATE_LIMIT_MAX')
    t.equal(revoke.headers['x-ratelimit-limit'], '120', 'revocation: RATE_LIMIT_MAX')
    t.equal(register.headers['x-ratelimit-limit'], '12', 'registration: a tenth of it')
    t.equal(token.headers['x-ratelimit-limit'], undefined, 'the token endpoint has no per-route limit')
    t.equal(Number(introspect.headers['x-ratelimit-remaining']) - Number((await post('/api/login/oauth/introspect', 'token=x')).headers['x-ratelimit-remaining']), 1)
    t.equal((await post('/api/login/oauth/revoke', 'token=x')).headers['x-ratelimit-remaining'], '118', 'each route counts on its own')
  })

  t.test('a database outage: 503 temporarily_unavailable at each endpoint', async (t) => {
    const down = async (): Promise<never> => { throw new StoreError('unavailable', 'the database is unavailable') }
    app.store.applications.authenticate = down
    app.store.applications.create = down
    const outage = { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable' }
    for (const [url, body] of [['/api/login/oauth/access_token', 'grant_type=client_credentials'], ['/api/login/oauth/introspect', 'token=x'], ['/api/login/oauth/revoke', 'token=x']]) {
      const res = await post(url, body, { ...FORM, authorization: wrongBasic })
      t.equal(res.statusCode, 503, url)
      t.same(res.json(), outage, url)
      t.equal(res.headers['cache-control'], 'no-store', url)
      t.equal(res.headers.pragma, 'no-cache', url)
    }
    const register = await post('/api/oauth/register', { redirect_uris: ['https://client.example/cb'] }, {})
    t.equal(register.statusCode, 503)
    t.same(register.json(), outage)
    t.equal(register.headers['cache-control'], 'no-store')
  })
})
