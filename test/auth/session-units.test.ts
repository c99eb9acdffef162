import { test } from 'tap'
import type { Store } from '../../lib/storage/store.js'
import type { User } from '../../lib/storage/models.js'
import { isForeignOrigin, sessionCookieOptions, sessionIdOfCookie } from '../../lib/session.js'
import { accountLimitKey, namedAccount, passwordSignIn } from '../../lib/oauth/sign-in.js'
import { createCsrf, csrfCookieOptions } from '../../lib/html/csrf.js'
import { sendPage } from '../../lib/html/reply.js'
import { consentCovers } from '../../lib/oauth/authorization-request.js'

/** The session, sign-in and CSRF rules as plain functions: no server, fakes for what they take. */

test('session cookie: attributes, reading, origin check', async (t) => {
  t.same(sessionCookieOptions(true, 60), { path: '/', httpOnly: true, sameSite: 'lax', secure: true, signed: true, maxAge: 60 })
  t.notOk('maxAge' in sessionCookieOptions(false), 'clearing takes no max age')
  const sessions = { idOf: (value: string) => `digest(${value})` }
  const signer = { unsignCookie: (raw: string) => raw.endsWith('.sig') ? { valid: true, value: raw.slice(0, -4) } : { valid: false, value: null } }
  t.equal(sessionIdOfCookie(sessions, undefined, signer), undefined)
  t.equal(sessionIdOfCookie(sessions, '', signer), undefined)
  t.equal(sessionIdOfCookie(sessions, 'abc.forged', signer), false)
  t.equal(sessionIdOfCookie(sessions, '.sig', signer), false, 'an empty signed value opens nothing')
  t.equal(sessionIdOfCookie(sessions, 'abc.sig', signer), 'digest(abc)')

  const ours = (origin: string): boolean => origin === 'https://iam.example.com'
  t.notOk(isForeignOrigin({}, ours), 'not a browser')
  t.notOk(isForeignOrigin({ origin: 'https://iam.example.com', 'sec-fetch-site': 'same-origin' }, ours))
  t.ok(isForeignOrigin({ origin: 'https://evil.example' }, ours))
  t.ok(isForeignOrigin({ 'sec-fetch-site': 'cross-site' }, ours))
})

test('sign-in: the account named, its limit key, the lockout', async (t) => {
  t.same(namedAccount(' alice ', undefined), { username: 'alice' })
  t.same(namedAccount('alice', '  '), { username: 'alice' }, 'a blank organization is none')
  t.same(namedAccount(' acme/alice', ''), { username: 'alice', organization: 'acme' })
  t.same(namedAccount('acme/alice', ' other '), { username: 'acme/alice', organization: 'other' }, 'a named organization wins')
  t.same(namedAccount('/alice', undefined), { username: '/alice' })
  t.equal(accountLimitKey({ username: 'Alice', organization: 'Acme' }), 'acme/alice')
  t.equal(accountLimitKey({ username: 'Alice' }), '/alice')

  const user = { id: 'built-in/alice' } as User
  const failures = new Map<string, number>()
  const locked = new Map<string, number>()
  const loginFailures: Pick<Store['loginFailures'], 'lockedUntil' | 'fail' | 'reset'> = {
    lockedUntil: async (key) => locked.get(key) ?? 0,
    fail: async (key, max, seconds) => {
      const n = (failures.get(key) ?? 0) + 1
      failures.set(key, n >= max ? 0 : n)
      const until = n >= max ? Date.now() + seconds * 1000 : 0
      if (until > 0) locked.set(key, until)
      return { failures: n, lockedUntil: until }
    },
    reset: async (key) => { failures.delete(key) }
  }
  const logged: unknown[] = []
  const deps = {
    users: { authenticate: async (_org: string, name: string, password: string) => name === 'alice' && password === 'right' ? user : undefined },
    loginFailures,
    maxFailures: 2,
    lockoutSeconds: 60
  }
  const here = { address: '10.0.0.1', log: { info: (object: Record<string, unknown>) => { logged.push(object) } } }
  const elsewhere = { ...here, address: '10.0.0.2' }
  t.same(await passwordSignIn(deps, here, { username: 'alice', password: 'wrong' }), { ok: false, locked: false })
  t.same(logged, [{ organization: 'built-in', locked: false }])
  t.same(await passwordSignIn(deps, here, { username: 'alice', password: '' }), { ok: false, locked: false }, 'an empty password is never checked')
  t.same(await passwordSignIn(deps, here, { username: 'alice', password: 'right' }), { ok: false, locked: true }, 'locked, even with the right password')
  t.same(await passwordSignIn(deps, elsewhere, { username: 'alice', password: 'right' }), { ok: true, user }, 'not from another address')
})

test('CSRF tokens: bound to the cookie value and the secret', async (t) => {
  const csrf = createCsrf('secret')
  const value = csrf.newValue()
  t.equal(csrf.valueOf(value), value)
  t.equal(csrf.valueOf('short'), undefined)
  t.ok(csrf.verify(value, csrf.tokenFor(value)))
  t.notOk(csrf.verify(csrf.newValue(), csrf.tokenFor(value)), 'another cookie')
  t.notOk(csrf.verify(value, createCsrf('other').tokenFor(value)), 'another secret')
  t.notOk(csrf.verify(undefined, csrf.tokenFor(value)))
  t.notOk(csrf.verify(value, ''))
  t.same(csrfCookieOptions(false), { path: '/login', httpOnly: true, sameSite: 'lax', secure: false })
})

test('pages: sent through any reply of the shape, consent coverage', async (t) => {
  const sent: Record<string, unknown> = { headers: {} }
  const reply = {
    code (status: number) { sent.status = status; return this },
    header (name: string, value: string) { (sent.headers as Record<string, string>)[name] = value; return this },
    send (body: string) { sent.body = body; return this }
  }
  t.equal(sendPage(reply, 401, '<p>x</p>', ['https://app.example']), reply)
  t.equal(sent.status, 401)
  t.equal(sent.body, '<p>x</p>')
  t.match(sent.headers, { 'cache-control': 'no-store', 'content-type': 'text/html; charset=utf-8', 'content-security-policy': /form-action 'self' https:\/\/app\.example/ })
  t.ok(consentCovers(['a', 'b'], ['b']))
  t.notOk(consentCovers(['a'], ['a', 'b']))
})
