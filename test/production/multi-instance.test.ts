import { test } from 'tap'
import pg from 'pg'
import { ADMIN, createPostgresDatabase, requirePostgres } from '../helper.js'
import { Agent, authorizePath, authorizeThrough, decodeJwt, pkce, registerPublic, tokenRequest } from '../oauth/flow.js'
import { basic, callTool, clientCredentials, freePort, login, request, sleep, startServer, succeeded, type HttpAnswer } from './process.js'

/**
 * Two server processes, one PostgreSQL: they behave as one service. Both start at the same
 * moment on an empty database; tokens, revocations, logouts, key rotations and forbidden users
 * made on A hold on B — revocations within one second (DESIGN.md).
 */

/** DESIGN.md: a revocation, a logout or a disabled user holds on all instances within one second. */
const STALENESS_MS = 1000
/** Polling slack on top of the bound (one poll round trip on a busy machine). */
const SLACK_MS = 200

const bearer = (token: string): string => `Bearer ${token}`

/**
 * Polls `probe` every 50 ms until it is refused with 401; the milliseconds that took, or
 * undefined when it was still accepted after `limitMs`.
 */
async function refusedWithin (limitMs: number, probe: () => Promise<HttpAnswer>): Promise<number | undefined> {
  const started = Date.now()
  for (;;) {
    const res = await probe()
    const elapsed = Date.now() - started
    if (res.status === 401) return elapsed
    if (elapsed > limitMs) return undefined
    await sleep(50)
  }
}

test('two instances on one PostgreSQL behave as one service', async (t) => {
  if (!await requirePostgres(t)) return
  const url = await createPostgresDatabase(t)
  const [portA, portB, portLb] = [await freePort(), await freePort(), await freePort()]
  // As behind a load balancer: one public origin for both, each instance's own Host allowed.
  // COOKIE_SECRET is left unset: the one generated on the first start is shared through the database.
  const shared = {
    DATABASE_URL: url,
    PUBLIC_URL: `http://127.0.0.1:${portLb}`,
    ALLOWED_HOSTS: `127.0.0.1:${portA},127.0.0.1:${portB}`,
    KEY_ENCRYPTION_SECRET: 'key-encryption-secret-for-the-production-suite'
  }

  // Both at the same moment, on an empty database.
  const [a, b] = await Promise.all([startServer(t, shared, { port: portA }), startServer(t, shared, { port: portB })])
  t.pass('both instances started on the empty database and are ready')

  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(async () => { await client.end() })
  const count = async (query: string): Promise<number> => Number((await client.query(query)).rows[0].n)
  t.equal(await count("select count(*) as n from users where owner = 'built-in' and is_admin = 1"), 1, 'one global admin')
  t.equal(await count("select count(*) as n from applications where name = 'app-built-in'"), 1, 'one bootstrap application')
  t.equal(await count('select count(*) as n from signing_keys where retired_at is null'), 1, 'one current signing key')
  t.equal(await count("select count(*) as n from settings where key = 'cookie_secret'"), 1, 'one generated cookie secret')
  t.equal(await count('select count(*) as n from organizations'), 1, 'one organization')

  await t.test('a token minted by A is accepted by B', async (t) => {
    const minted = await clientCredentials(a.base)
    t.equal(minted.status, 200, 'A issues a token')
    const res = await callTool(b.base, bearer(minted.json.access_token), 'get_account', {})
    t.ok(succeeded(res), `B accepts it: ${res.text.slice(0, 200)}`)
  })

  await t.test('a token revoked on A is refused by B within one second', async (t) => {
    const token = (await clientCredentials(a.base)).json.access_token as string
    const onB = (): Promise<HttpAnswer> => callTool(b.base, bearer(token), 'get_account', {})
    t.ok(succeeded(await onB()), 'B accepts it first (and has it cached)')
    const revoked = await callTool(a.base, basic(), 'revoke_token', { id: decodeJwt(token).jti })
    t.ok(succeeded(revoked) && revoked.json.result.structuredContent.revoked === true, 'revoked on A')
    const ms = await refusedWithin(STALENESS_MS + SLACK_MS, onB)
    t.ok(ms !== undefined, `B refuses it ${ms ?? 'never'} ms after the revocation`)
    t.equal((await onB()).status, 401, 'and keeps refusing it')
  })

  await t.test('a session logged out on A is refused by B', async (t) => {
    const session = await login(a.base, ADMIN.username, ADMIN.password)
    t.equal(session.status, 200, 'logged in on A')
    t.ok(session.cookie !== undefined, 'with a session cookie')
    const cookie = session.cookie as string
    const onB = (): Promise<HttpAnswer> => callTool(b.base, undefined, 'get_account', {}, { cookie })
    t.ok(succeeded(await onB()), 'B accepts the session cookie A set')
    const out = await request(`${a.base}/api/logout`, { method: 'POST', headers: { cookie } })
    t.equal(out.status, 200, 'logged out on A')
    const ms = await refusedWithin(STALENESS_MS + SLACK_MS, onB)
    t.ok(ms !== undefined, `B refuses the session ${ms ?? 'never'} ms after the logout`)
  })

  await t.test('a key rotated on A is in B\'s JWKS and B verifies tokens signed with it', async (t) => {
    const before = (await clientCredentials(a.base)).json.access_token as string
    const rotated = await callTool(a.base, basic(), 'rotate_signing_key', {})
    t.ok(succeeded(rotated), `rotated on A: ${rotated.text.slice(0, 200)}`)
    const kid = rotated.json.result.structuredContent.key.kid as string
    const deadline = Date.now() + STALENESS_MS + SLACK_MS
    let kids: string[] = []
    do {
      kids = ((await request(`${b.base}/.well-known/jwks`)).json?.keys ?? []).map((k: { kid: string }) => k.kid)
      if (kids.includes(kid)) break
      await sleep(50)
    } while (Date.now() < deadline)
    t.ok(kids.includes(kid), `B's JWKS has the new key ${kid} within a second`)
    const after = (await clientCredentials(a.base)).json.access_token as string
    t.equal(JSON.parse(Buffer.from(after.split('.')[0], 'base64url').toString()).kid, kid, 'A signs with the new key')
    t.ok(succeeded(await callTool(b.base, bearer(after), 'get_account', {})), 'B verifies a token signed with the new key')
    t.ok(succeeded(await callTool(b.base, bearer(before), 'get_account', {})), 'and still one signed with the old key')
    t.equal(await count('select count(*) as n from signing_keys where retired_at is null'), 1, 'still exactly one current key')
  })

  await t.test('a user forbidden on A cannot use B: its token, its session and its login are refused', async (t) => {
    const user = { username: 'forbidden-later', password: 'a-password-of-this-user' }
    t.ok(succeeded(await callTool(a.base, basic(), 'add_user', { owner: 'built-in', name: user.username, password: user.password })), 'user added on A')

    // A user token through the authorization code flow on A.
    const redirectUri = 'http://127.0.0.1:9/callback'
    const registered = await registerPublic(a.base, redirectUri)
    const { verifier, challenge } = pkce()
    const agent = new Agent(a.base)
    const callback = await authorizeThrough(agent, authorizePath({
      response_type: 'code',
      client_id: registered.client_id,
      redirect_uri: redirectUri,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'account:read',
      state: 'state-1'
    }), { creds: user })
    const code = callback.searchParams.get('code')
    t.ok(code !== null, 'A granted a code')
    const tokens = await tokenRequest(a.base, { grant_type: 'authorization_code', code: code as string, redirect_uri: redirectUri, code_verifier: verifier, client_id: registered.client_id })
    t.equal(tokens.status, 200, 'A issued the user a token')
    const token = tokens.body.access_token as string
    t.equal(decodeJwt(token).sub, `built-in/${user.username}`, 'for that user')

    const session = await login(b.base, user.username, user.password)
    t.equal(session.status, 200, 'the user logs in on B')
    const cookie = session.cookie as string
    const withToken = (): Promise<HttpAnswer> => callTool(b.base, bearer(token), 'get_account', {})
    const withCookie = (): Promise<HttpAnswer> => callTool(b.base, undefined, 'get_account', {}, { cookie })
    t.ok(succeeded(await withToken()), 'B accepts the user\'s token')
    t.ok(succeeded(await withCookie()), 'B accepts the user\'s session')

    const forbidden = await callTool(a.base, basic(), 'update_user', { id: `built-in/${user.username}`, isForbidden: true })
    t.ok(succeeded(forbidden), 'forbidden on A')
    const tokenMs = await refusedWithin(STALENESS_MS + SLACK_MS, withToken)
    t.ok(tokenMs !== undefined, `B refuses the token ${tokenMs ?? 'never'} ms after`)
    const cookieMs = await refusedWithin(STALENESS_MS + SLACK_MS, withCookie)
    t.ok(cookieMs !== undefined, `B refuses the session ${cookieMs ?? 'never'} ms after`)
    const again = await login(b.base, user.username, user.password)
    t.equal(again.status, 401, 'B refuses the login')
    t.equal(again.cookie, undefined, 'and sets no session')
  })

  t.notMatch(a.output() + b.output(), /start-up failed|"level":(50|60)/, 'neither instance logged an error')
})
