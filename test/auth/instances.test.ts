import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import { ADMIN, BOOTSTRAP_CLIENT, testDatabaseUrl } from '../helper.js'
import { buildWithProbe } from './probe.js'
import { StoreError } from '../../lib/storage/errors.js'

const PUBLIC_URL = 'http://iam.internal'

/** Polls `check` until it is true or `ms` pass; the contract's bound is one second. */
async function within (ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (await check()) return true
    await sleep(25)
  }
  return await check()
}

test('two instances on one database behave as one service', async (t) => {
  const DATABASE_URL = await testDatabaseUrl(t)
  const a = await buildWithProbe(t, { DATABASE_URL, PUBLIC_URL })
  const b = await buildWithProbe(t, { DATABASE_URL, PUBLIC_URL })
  const status = async (app: typeof a, headers: Record<string, string>) => (await app.inject({ url: '/test/whoami', headers })).statusCode
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
  const issue = (app: typeof a, over: Partial<Parameters<typeof a.tokens.issue>[0]> = {}) => app.tokens.issue({
    subject: 'built-in/app-built-in', subjectKind: 'application', clientId: BOOTSTRAP_CLIENT.id, scopes: ['user:read'], audience: PUBLIC_URL, issuer: PUBLIC_URL, ...over
  })

  t.test('a token minted by one is accepted by the other; a revocation holds on both within a second', async (t) => {
    const { access_token: token } = await issue(a)
    t.equal(await status(b, bearer(token)), 200)
    const jti = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).jti
    await a.store.tokens.revoke(jti)
    t.equal(await status(a, bearer(token)), 401, 'at once on the revoking instance')
    t.ok(await within(1000, async () => await status(b, bearer(token)) === 401), 'within a second on the other')
  })

  t.test('logout and a forbidden user hold on every instance', async (t) => {
    const login = await a.inject({ method: 'POST', url: '/api/login', payload: { username: ADMIN.username, password: ADMIN.password } })
    const cookie = String(login.headers['set-cookie']).split(';')[0]
    t.equal(await status(b, { cookie }), 200)
    await a.inject({ method: 'POST', url: '/api/logout', headers: { cookie } })
    t.ok(await within(1000, async () => await status(b, { cookie }) === 401), 'logged out everywhere')

    await b.store.users.create({ owner: 'built-in', name: 'dave', password: 'dave-password-1' })
    const token = (await issue(a, { subject: 'built-in/dave', subjectKind: 'user' })).access_token
    t.equal(await status(b, bearer(token)), 200)
    await a.store.users.update('built-in/dave', { isForbidden: true })
    t.ok(await within(1000, async () => await status(b, bearer(token)) === 401), 'forbidden everywhere')
  })

  t.test('a session ended with its user on one instance stays dead on the other', async (t) => {
    await a.store.users.create({ owner: 'built-in', name: 'erin', password: 'erin-password-1' })
    const signIn = async (): Promise<string> => String((await a.inject({ method: 'POST', url: '/api/login', payload: { username: 'erin', password: 'erin-password-1' } })).headers['set-cookie']).split(';')[0]
    const cookie = await signIn()
    t.equal(await status(b, { cookie }), 200, 'the other instance holds the session')
    await a.store.users.update('built-in/erin', { isForbidden: true })
    t.ok(await within(1000, async () => await status(b, { cookie }) === 401), 'forbidden everywhere')
    await a.store.users.update('built-in/erin', { isForbidden: false })
    await sleep(1100)
    t.equal(await status(b, { cookie }), 401, 'allowed again, the old cookie stays dead on the other instance')

    const second = await signIn()
    t.equal(await status(b, { cookie: second }), 200)
    await a.store.users.delete('built-in/erin')
    await a.store.users.create({ owner: 'built-in', name: 'erin', password: 'erin-password-1' })
    t.ok(await within(1000, async () => await status(b, { cookie: second }) === 401), 'a re-created user does not inherit it')
    await sleep(1100)
    t.equal(await status(b, { cookie: second }), 401, 'for good')
  })

  t.test('a key rotated on one instance signs tokens the other accepts; the old key keeps verifying', async (t) => {
    const old = (await issue(a)).access_token
    const rotated = await a.signingKeys.rotate()
    const fresh = (await issue(a)).access_token
    t.equal(JSON.parse(Buffer.from(fresh.split('.')[0], 'base64url').toString()).kid, rotated.kid)
    t.equal(await status(b, bearer(fresh)), 200, 'accepted before the poll (unknown kid → reload)')
    t.equal(await status(b, bearer(old)), 200, 'tokens of the retired key stay valid')
    t.ok(await within(1000, async () => b.signingKeys.current().kid === rotated.kid), 'the other instance signs with the new key too')
    const jwks = (await b.inject({ url: '/.well-known/jwks' })).json().keys.map((k: { kid: string }) => k.kid)
    t.ok(jwks.includes(rotated.kid))
  })

  t.test('when revocation data cannot be refreshed, bearer, Basic and cookie calls fail closed (503)', async (t) => {
    const token = (await issue(b)).access_token
    t.equal(await status(b, bearer(token)), 200)
    const since = b.store.changes.since.bind(b.store.changes)
    b.store.changes.since = async () => { throw new StoreError('unavailable', 'the database is unavailable') }
    t.teardown(() => { b.store.changes.since = since })
    await sleep(1300)
    t.equal(await status(b, bearer(token)), 503, 'bearer')
    t.equal(await status(b, { authorization: 'Basic ' + Buffer.from(`${BOOTSTRAP_CLIENT.id}:${BOOTSTRAP_CLIENT.secret}`).toString('base64') }), 503, 'basic')
    const mcp = await b.inject({
      method: 'POST',
      url: '/api/mcp',
      headers: { host: 'iam.internal', 'content-type': 'application/json', 'mcp-protocol-version': '2025-11-25', ...bearer(token) },
      payload: { jsonrpc: '2.0', id: 3, method: 'tools/list' }
    })
    t.equal(mcp.statusCode, 503, '/api/mcp answers 503')
    t.match(mcp.json(), { jsonrpc: '2.0', id: 3, error: { code: -32603 } })
    b.store.changes.since = since
    t.ok(await within(1000, async () => await status(b, bearer(token)) === 200), 'recovers once the feed answers again')
  })
})
