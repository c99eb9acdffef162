import { test } from 'tap'
import { listen } from '../helper.js'
import { basic, callTool, login, mcp, request, sleep, succeeded, type HttpAnswer } from './process.js'

/**
 * Password guessing: failed logins for one account are slowed down, then locked for
 * LOGIN_LOCKOUT_SECONDS — the right password is refused meanwhile, other accounts are not
 * affected, and the lock lifts by itself. Client-secret guessing (HTTP Basic on /api/mcp, the
 * token endpoint) is rate-limited too.
 */

const MAX_FAILURES = 3
const LOCKOUT_SECONDS = 3

test('failed logins slow down, then lock the account for a while, not forever', async (t) => {
  const { base } = await listen(t, { env: { LOGIN_MAX_FAILURES: String(MAX_FAILURES), LOGIN_LOCKOUT_SECONDS: String(LOCKOUT_SECONDS) } })
  const victim = { username: 'victim', password: 'the-victims-password' }
  const bystander = { username: 'bystander', password: 'the-bystanders-password' }
  for (const u of [victim, bystander]) {
    t.ok(succeeded(await callTool(base, basic(), 'add_user', { owner: 'built-in', name: u.username, password: u.password })), `${u.username} added`)
  }

  for (let i = 1; i <= MAX_FAILURES; i++) {
    const started = performance.now()
    const res = await login(base, victim.username, `wrong-guess-${i}`)
    const took = performance.now() - started
    t.equal(res.status, 401, `failure ${i}: 401`)
    t.same(res.json, { status: 'error', error: 'invalid_credentials' }, `failure ${i}: says nothing about which field was wrong`)
    t.ok(took >= 150, `failure ${i} is slowed down (${Math.round(took)} ms)`)
  }
  const locked = await login(base, victim.username, 'wrong-guess-again')
  const lockedAt = Date.now()
  t.equal(locked.status, 429, `after ${MAX_FAILURES} failures the account is locked`)
  const retryAfter = Number(locked.headers.get('retry-after'))
  t.ok(retryAfter >= 1 && retryAfter <= LOCKOUT_SECONDS, `Retry-After ${retryAfter} s is within LOGIN_LOCKOUT_SECONDS`)

  const right = await login(base, victim.username, victim.password)
  t.equal(right.status, 429, 'the right password is refused while locked')
  t.equal(right.cookie, undefined, 'and opens no session')
  const other = await login(base, bystander.username, bystander.password)
  t.equal(other.status, 200, 'another account is not affected')
  const lookalike = await login(base, 'VICTIM', victim.password)
  t.equal(lookalike.status, 429, 'a case variant of the name is the same locked account')

  await sleep(Math.max(0, lockedAt + LOCKOUT_SECONDS * 1000 + 500 - Date.now()))
  const after = await login(base, victim.username, victim.password)
  t.equal(after.status, 200, 'the lock lifts by itself: the right password works again')
  t.ok(after.cookie !== undefined, 'with a session')
  const fresh = await login(base, victim.username, 'wrong-after-success')
  t.equal(fresh.status, 401, 'a success starts the count afresh (one failure is not a lock)')
})

test('failed client-secret checks are rate-limited', async (t) => {
  const MAX = 5
  const { base } = await listen(t, { env: { RATE_LIMIT_MAX: String(MAX), RATE_LIMIT_WINDOW: '60000', TRUST_PROXY: '127.0.0.1' } })

  await t.test('token endpoint', async (t) => {
    const from = { 'x-forwarded-for': '198.51.100.7' }
    const token = (secret: string): Promise<HttpAnswer> => request(`${base}/api/login/oauth/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(undefined, secret), ...from },
      body: 'grant_type=client_credentials'
    })
    const statuses: number[] = []
    for (let i = 0; i < MAX; i++) statuses.push((await token(`wrong-secret-${i}`)).status)
    t.same(statuses, Array(MAX).fill(401), `${MAX} wrong secrets: invalid_client`)
    const limited = await token('wrong-secret-again')
    t.equal(limited.status, 429, 'the next attempt is refused')
    t.match(limited.headers.get('retry-after'), /^\d+$/, 'with Retry-After')
    t.equal((await token(undefined as unknown as string)).status, 429, 'even the right secret, from there, until the window ends')
  })

  await t.test('HTTP Basic on /api/mcp', async (t) => {
    const from = { 'x-forwarded-for': '198.51.100.8' }
    const list = (secret?: string): Promise<HttpAnswer> => mcp(base, basic(undefined, secret), { jsonrpc: '2.0', id: 1, method: 'tools/list' }, from)
    t.equal((await list()).status, 200, 'the right secret works')
    const statuses: number[] = []
    for (let i = 0; i < MAX; i++) statuses.push((await list(`wrong-secret-${i}`)).status)
    t.same(statuses, Array(MAX).fill(401), `${MAX} wrong secrets: 401`)
    const limited = await list('wrong-secret-again')
    t.equal(limited.status, 429, 'the next attempt is refused with 429')
    t.match(limited.headers.get('retry-after'), /^\d+$/, 'with Retry-After')
    t.same(limited.json, { jsonrpc: '2.0', id: null, error: { code: -32600, message: limited.json?.error?.message } }, 'in the contract\'s transport-refusal shape')
    t.equal((await list()).status, 429, 'even the right secret is not checked from there until the window ends')
    const elsewhere = await mcp(base, basic(), { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'x-forwarded-for': '203.0.113.9' })
    t.not(elsewhere.status, 500, 'no internal error for others')
  })
})

test("a stranger's failures never lock the client or user out from another address", async (t) => {
  const MAX = 5
  const { base } = await listen(t, {
    env: { RATE_LIMIT_MAX: String(MAX), RATE_LIMIT_WINDOW: '60000', LOGIN_MAX_FAILURES: String(MAX_FAILURES), LOGIN_LOCKOUT_SECONDS: '600', TRUST_PROXY: '127.0.0.1' }
  })
  const victim = { username: 'victim', password: 'the-victims-password' }
  t.ok(succeeded(await callTool(base, basic(), 'add_user', { owner: 'built-in', name: victim.username, password: victim.password }, { 'x-forwarded-for': '192.0.2.200' })), 'victim added')

  await t.test('token endpoint', async (t) => {
    const token = (secret: string | undefined, address: string): Promise<HttpAnswer> => request(`${base}/api/login/oauth/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(undefined, secret), 'x-forwarded-for': address },
      body: 'grant_type=client_credentials'
    })
    const statuses: number[] = []
    for (let i = 0; i <= MAX; i++) statuses.push((await token(`wrong-secret-${i}`, '198.51.100.21')).status)
    t.same(statuses, [...Array(MAX).fill(401), 429], 'the stranger is refused after its failures')
    t.equal((await token(undefined, '198.51.100.21')).status, 429, 'even with the right secret, from there')
    t.equal((await token(undefined, '203.0.113.21')).status, 200, 'the client itself, from its own address, gets its token')
  })

  await t.test('HTTP Basic on /api/mcp', async (t) => {
    const list = (secret: string | undefined, address: string): Promise<HttpAnswer> =>
      mcp(base, basic(undefined, secret), { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'x-forwarded-for': address })
    const statuses: number[] = []
    for (let i = 0; i <= MAX; i++) statuses.push((await list(`wrong-secret-${i}`, '198.51.100.22')).status)
    t.same(statuses, [...Array(MAX).fill(401), 429], 'the stranger is refused after its failures')
    t.equal((await list(undefined, '198.51.100.22')).status, 429, 'even with the right secret, from there')
    t.equal((await list(undefined, '203.0.113.22')).status, 200, 'the client itself, from its own address, is served')
  })

  await t.test('password login', async (t) => {
    const signIn = (password: string, address: string): Promise<HttpAnswer> => request(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
      body: JSON.stringify({ username: victim.username, password })
    })
    const statuses: number[] = []
    // Past both the lockout and the per-account request count.
    for (let i = 0; i <= MAX; i++) statuses.push((await signIn(`wrong-guess-${i}`, '198.51.100.23')).status)
    t.same(statuses, [...Array(MAX_FAILURES).fill(401), ...Array(MAX + 1 - MAX_FAILURES).fill(429)], 'the stranger locks itself out')
    t.equal((await signIn(victim.password, '198.51.100.23')).status, 429, 'even with the right password, from there')
    const own = await signIn(victim.password, '203.0.113.23')
    t.equal(own.status, 200, 'the user, from its own address, signs in')
    t.equal(own.json?.status, 'ok')
  })
})
