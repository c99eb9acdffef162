import { test } from 'tap'
import { build, ADMIN } from '../helper.js'
import { buildWithProbe } from './probe.js'

function sessionCookie (setCookie: string | string[] | undefined): string {
  const all = Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie]
  const line = all.find(c => c.startsWith('iam_session='))
  return line === undefined ? '' : line.split(';')[0]
}

test('POST /api/login and /api/logout', async (t) => {
  const app = await buildWithProbe(t)
  const login = (payload: Record<string, string>, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/api/login', payload, headers })

  t.test('JSON login: the user without secrets, and a signed HttpOnly SameSite=Lax cookie', async (t) => {
    const res = await login({ username: ADMIN.username, password: ADMIN.password })
    t.equal(res.statusCode, 200, res.body)
    t.equal(res.json().status, 'ok')
    t.match(res.json().data, { id: 'built-in/admin', owner: 'built-in', name: 'admin', isAdmin: true })
    t.notOk(JSON.stringify(res.json()).includes('scrypt'), 'no password hash')
    t.notOk('password' in res.json().data)
    const set = String(res.headers['set-cookie'])
    t.match(set, /iam_session=[^;]+/)
    t.match(set, /HttpOnly/)
    t.match(set, /SameSite=Lax/)
    t.match(set, /Path=\//)
    t.notMatch(set, /Secure/, 'not Secure over http')
    const cookie = sessionCookie(res.headers['set-cookie'])
    const who = await app.inject({ url: '/test/whoami', headers: { cookie } })
    t.equal(who.statusCode, 200)
    t.match(who.json().principal, { kind: 'user', id: 'built-in/admin', via: 'session', scopes: null, isGlobalAdmin: true })

    const forged = cookie.replace(/.$/, c => c === 'A' ? 'B' : 'A')
    const bad = await app.inject({ url: '/test/whoami', headers: { cookie: forged } })
    t.equal(bad.statusCode, 401, 'a cookie with a broken signature is refused')

    const foreign = await app.inject({ url: '/test/whoami', headers: { cookie, origin: 'https://evil.example' } })
    t.equal(foreign.statusCode, 401, 'the cookie is refused from a foreign Origin')
    const crossSite = await app.inject({ url: '/test/whoami', headers: { cookie, 'sec-fetch-site': 'cross-site' } })
    t.equal(crossSite.statusCode, 401)
    const sameOrigin = await app.inject({ url: '/test/whoami', headers: { cookie, origin: app.publicBase() } })
    t.equal(sameOrigin.statusCode, 200, 'the public origin itself may use it')

    const out = await app.inject({ method: 'POST', url: '/api/logout', headers: { cookie } })
    t.equal(out.statusCode, 200)
    t.same(out.json(), { status: 'ok' })
    t.match(String(out.headers['set-cookie']), /iam_session=;.*Expires=Thu, 01 Jan 1970/)
    const after = await app.inject({ url: '/test/whoami', headers: { cookie } })
    t.equal(after.statusCode, 401, 'the old cookie is dead after logout')
  })

  t.test('HTML form login, organization/username form, and the organization field', async (t) => {
    const form = await app.inject({
      method: 'POST',
      url: '/api/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ username: `built-in/${ADMIN.username}`, password: ADMIN.password }).toString()
    })
    t.equal(form.statusCode, 200, form.body)
    const org = await login({ username: ADMIN.username, password: ADMIN.password, organization: 'built-in' })
    t.equal(org.statusCode, 200)
    const caseFolded = await login({ username: 'ADMIN', password: ADMIN.password })
    t.equal(caseFolded.statusCode, 200, 'user names are case-folded')
  })

  t.test('failures never say which field was wrong', async (t) => {
    await app.store.organizations.create({ name: 'acme' })
    await app.store.users.create({ owner: 'acme', name: 'alice', password: 'alice-password-1' })
    const attempts: Array<Record<string, string>> = [
      { username: 'alice', password: 'alice-password-1' },
      { username: 'alice', password: 'wrong', organization: 'acme' },
      { username: 'nobody', password: 'alice-password-1', organization: 'acme' },
      { username: 'alice', password: 'alice-password-1', organization: 'no-such-org' }
    ]
    for (const payload of attempts) {
      const res = await login(payload)
      t.equal(res.statusCode, 401, JSON.stringify(payload))
      t.same(res.json(), { status: 'error', error: 'invalid_credentials' })
      t.notOk(res.headers['set-cookie'])
    }
    // U+0000 cannot be stored on PostgreSQL: no field of any request accepts it (a 400, not a 500).
    for (const payload of [
      { username: 'ali\u0000ce', password: 'alice-password-1', organization: 'acme' },
      { username: 'alice', password: 'alice-password-1', organization: 'ac\u0000me' }
    ]) {
      const res = await login(payload)
      t.equal(res.statusCode, 400, JSON.stringify(payload))
      t.same(res.json(), { status: 'error', error: 'invalid_request' })
      t.notOk(res.headers['set-cookie'])
    }
    t.equal((await login({ username: 'acme/alice', password: 'alice-password-1' })).statusCode, 200)
    const badJson = await app.inject({ method: 'POST', url: '/api/login', headers: { 'content-type': 'application/json' }, payload: '{"username":' })
    t.equal(badJson.statusCode, 400)
    t.same(badJson.json(), { status: 'error', error: 'invalid_request' })
    const missing = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'alice' } })
    t.equal(missing.statusCode, 400)
    t.same(missing.json(), { status: 'error', error: 'invalid_request' })
  })

  t.test('a forbidden user cannot sign in, and its open session stops working', async (t) => {
    await app.store.users.create({ owner: 'acme', name: 'bob', password: 'bob-password-12' })
    const res = await login({ username: 'acme/bob', password: 'bob-password-12' })
    const cookie = sessionCookie(res.headers['set-cookie'])
    t.equal((await app.inject({ url: '/test/whoami', headers: { cookie } })).statusCode, 200)
    await app.store.users.update('acme/bob', { isForbidden: true })
    t.equal((await app.inject({ url: '/test/whoami', headers: { cookie } })).statusCode, 401)
    t.equal((await login({ username: 'acme/bob', password: 'bob-password-12' })).statusCode, 401)
  })

  t.test('login and logout from a foreign Origin are refused', async (t) => {
    const res = await login({ username: ADMIN.username, password: ADMIN.password }, { origin: 'https://evil.example' })
    t.equal(res.statusCode, 403)
    t.same(res.json(), { status: 'error', error: 'forbidden_origin' })
    t.notOk(res.headers['set-cookie'])
    const out = await app.inject({ method: 'POST', url: '/api/logout', headers: { origin: 'https://evil.example' } })
    t.equal(out.statusCode, 403)
  })
})

test('an account locks after LOGIN_MAX_FAILURES failures, then unlocks', async (t) => {
  const app = await build(t, { env: { LOGIN_MAX_FAILURES: '3', LOGIN_LOCKOUT_SECONDS: '1' } })
  const login = (password: string) => app.inject({ method: 'POST', url: '/api/login', payload: { username: ADMIN.username, password } })
  for (let i = 0; i < 3; i++) t.equal((await login('wrong')).statusCode, 401)
  const locked = await login(ADMIN.password)
  t.equal(locked.statusCode, 429, 'locked: even the right password is refused')
  t.same(locked.json(), { status: 'error', error: 'too_many_attempts' })
  t.equal(locked.headers['retry-after'], '1')
  await new Promise(resolve => setTimeout(resolve, 1100))
  t.equal((await login(ADMIN.password)).statusCode, 200, 'never locked forever')
})

test('login is rate-limited per IP with Retry-After; the cookie is Secure under https', async (t) => {
  const app = await build(t, { env: { RATE_LIMIT_MAX: '2', PUBLIC_URL: 'https://iam.example.com' } })
  const ok = await app.inject({ method: 'POST', url: '/api/login', payload: { username: ADMIN.username, password: ADMIN.password } })
  t.match(String(ok.headers['set-cookie']), /Secure/)
  await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'x', password: 'y' } })
  const limited = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'z', password: 'y' } })
  t.equal(limited.statusCode, 429)
  t.ok(Number(limited.headers['retry-after']) > 0)
  t.same(limited.json(), { status: 'error', error: 'too_many_requests' })
})
