import { test } from 'tap'
import { listen } from '../helper.js'
import {
  ADMIN_LOGIN, Agent, authorizePath, authorizeThrough, decodeJwt, parseForm, pkce, registerPublic, submitConsent, submitLogin, tokenRequest
} from './flow.js'

const REDIRECT = 'http://127.0.0.1:9/callback'

test('authorization code flow with PKCE, and its refusals', async (t) => {
  const { app, base } = await listen(t, { env: { AUTHORIZATION_CODE_TTL: '10' } })
  const client = await registerPublic(base, REDIRECT)
  const start = (over: Record<string, string | undefined> = {}) => {
    const { verifier, challenge } = pkce()
    return {
      verifier,
      path: authorizePath({
        response_type: 'code',
        client_id: client.client_id,
        redirect_uri: REDIRECT,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 'st-123',
        scope: 'openid profile user:read offline_access',
        resource: `${base}/api/mcp`,
        nonce: 'n-1',
        ...over
      })
    }
  }
  const exchange = (code: string, verifier: string, over: Record<string, string> = {}) => tokenRequest(base, {
    grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: client.client_id, resource: `${base}/api/mcp`, ...over
  })

  await t.test('the happy path: login, consent, code with state and iss, tokens', async (t) => {
    const agent = new Agent(base)
    const { verifier, path } = start()
    const first = await agent.get(path)
    t.equal(first.status, 200)
    t.match(first.headers.get('content-type'), /text\/html/)
    t.match(first.headers.get('content-security-policy'), /default-src 'none'/)
    t.notMatch(first.headers.get('content-security-policy'), /script-src [^;]*unsafe-inline/)
    t.equal(first.headers.get('x-frame-options'), 'DENY')
    t.equal(first.headers.get('x-content-type-options'), 'nosniff')
    const loginHtml = await first.text()
    t.match(loginHtml, /<label for="username">/)
    t.notMatch(loginHtml, /<script/i, 'no scripts on the page')

    const wrong = await submitLogin(agent, loginHtml, { username: 'admin', password: 'not-the-password' })
    t.equal(wrong.status, 401)
    const wrongHtml = await wrong.text()
    t.match(wrongHtml, /The user name, password or organization is not correct/)
    const unknown = await submitLogin(agent, wrongHtml, { username: 'nobody-here', password: 'whatever-password' })
    t.match(await unknown.text(), /The user name, password or organization is not correct/, 'same words for an unknown user')

    const ok = await submitLogin(agent, loginHtml, ADMIN_LOGIN)
    t.equal(ok.status, 303)
    t.ok(agent.cookies.has('iam_session'), 'signed in')
    const consent = await agent.get(ok.headers.get('location') as string)
    t.equal(consent.status, 200)
    const consentHtml = await consent.text()
    t.match(consentHtml, /Test agent/)
    t.same(parseForm(consentHtml).scopes, ['openid', 'profile', 'user:read'], 'offline_access dropped, the rest listed')
    t.match(consentHtml, /See users/)
    const back = await submitConsent(agent, consentHtml, 'approve')
    t.equal(back.status, 303)
    const location = new URL(back.headers.get('location') as string)
    t.equal(`${location.origin}${location.pathname}`, REDIRECT)
    t.equal(location.searchParams.get('state'), 'st-123')
    t.equal(location.searchParams.get('iss'), base)
    const code = location.searchParams.get('code') as string
    t.ok(code.length >= 43)

    const tokens = await exchange(code, verifier)
    t.equal(tokens.status, 200, tokens.body.error_description)
    t.equal(tokens.body.scope, 'openid profile user:read')
    t.type(tokens.body.refresh_token, 'string')
    const access = decodeJwt(tokens.body.access_token)
    t.equal(access.aud, `${base}/api/mcp`, 'resource bound to the token')
    t.equal(access.sub, 'built-in/admin')
    const id = decodeJwt(tokens.body.id_token)
    t.equal(id.aud, client.client_id)
    t.equal(id.nonce, 'n-1')
    t.equal(id.iss, base)
    t.equal(id.preferred_username, 'admin')

    const info = await fetch(`${base}/api/userinfo`, { headers: { authorization: `Bearer ${tokens.body.access_token}` } })
    t.equal(info.status, 200)
    t.same(await info.json(), { sub: 'built-in/admin', name: 'Administrator', preferred_username: 'admin' })

    const replay = await exchange(code, verifier)
    t.equal(replay.status, 400)
    t.equal(replay.body.error, 'invalid_grant')
    const stillGood = await fetch(`${base}/api/userinfo`, { headers: { authorization: `Bearer ${tokens.body.access_token}` } })
    t.equal(stillGood.status, 401, 'a reused code revokes the access token issued from it')
    const refresh = await tokenRequest(base, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: client.client_id })
    t.equal(refresh.body.error, 'invalid_grant', 'and its refresh token')

    // The session and the consent now skip both pages.
    const again = start()
    const direct = await agent.get(again.path)
    t.equal(direct.status, 302, 'prior consent for the same scopes skips the consent page')
    const code2 = new URL(direct.headers.get('location') as string).searchParams.get('code') as string
    t.equal((await exchange(code2, again.verifier)).status, 200)

    // Asking for more than was consented shows the page again.
    const more = start({ scope: 'user:read user:write' })
    const page = await agent.get(more.path)
    t.equal(page.status, 200)
    t.same(parseForm(await page.text()).scopes, ['user:read', 'user:write'])
  })

  await t.test('errors that cannot go back to the client are pages', async (t) => {
    const agent = new Agent(base)
    const unknown = await agent.get(start({ client_id: 'no-such-client' }).path)
    t.equal(unknown.status, 400)
    t.match(unknown.headers.get('content-type'), /text\/html/)
    t.match(await unknown.text(), /Unknown application/)
    const mismatch = await agent.get(start({ redirect_uri: 'http://127.0.0.1:9/other' }).path)
    t.equal(mismatch.status, 400)
    t.match(await mismatch.text(), /Unregistered return address/)
    t.equal(mismatch.headers.get('location'), null, 'never redirected to an unregistered address')
    const prefix = await agent.get(start({ redirect_uri: `${REDIRECT}/extra` }).path)
    t.equal(prefix.status, 400, 'exact match, not prefix')
    const missing = await agent.get('/login/oauth/authorize?response_type=code')
    t.equal(missing.status, 400)
    t.match(await missing.text(), /client_id is missing/)
    const twice = await agent.get(`${start().path}&client_id=again`)
    t.equal(twice.status, 400)
    t.match(twice.headers.get('content-type'), /text\/html/)
  })

  await t.test('errors that can go back to the client are redirects with state and iss', async (t) => {
    const agent = new Agent(base)
    // A pre-registered application: a registered client's errors are pages until a person
    // has seen one of ours (test/oauth/open-redirect.test.ts).
    const { application } = await app.store.applications.create({
      owner: 'built-in', name: 'pre-registered-web', tokenEndpointAuthMethod: 'none', redirectUris: [REDIRECT], grantTypes: ['authorization_code', 'refresh_token'], scopes: ['admin']
    })
    const startPre = (over: Record<string, string | undefined>) => start({ client_id: application.clientId, ...over })
    const cases: Array<[Record<string, string | undefined>, string]> = [
      [{ code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request'],
      [{ code_challenge_method: 'plain' }, 'invalid_request'],
      [{ code_challenge_method: undefined }, 'invalid_request'],
      [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ resource: 'https://elsewhere.example/api' }, 'invalid_target'],
      [{ scope: 'offline_access something:else' }, 'invalid_scope']
    ]
    for (const [over, error] of cases) {
      const res = await agent.get(startPre(over).path)
      t.equal(res.status, 302, JSON.stringify(over))
      const location = new URL(res.headers.get('location') as string)
      t.equal(`${location.origin}${location.pathname}`, REDIRECT)
      t.equal(location.searchParams.get('error'), error, JSON.stringify(over))
      t.equal(location.searchParams.get('state'), 'st-123')
      t.equal(location.searchParams.get('iss'), base)
    }
    const none = await agent.get(startPre({ prompt: 'none' }).path)
    t.equal(new URL(none.headers.get('location') as string).searchParams.get('error'), 'login_required')
  })

  await t.test('denied consent, and consent with nothing ticked, are access_denied', async (t) => {
    const agent = new Agent(base)
    const denied = await authorizeThrough(agent, start({ prompt: 'consent' }).path, { decision: 'deny' })
    t.equal(denied.searchParams.get('error'), 'access_denied')
    t.equal(denied.searchParams.get('state'), 'st-123')
    t.equal(denied.searchParams.get('iss'), base)
    t.equal(denied.searchParams.get('code'), null)
    const empty = await authorizeThrough(agent, start({ prompt: 'consent' }).path, { keep: [] })
    t.equal(empty.searchParams.get('error'), 'access_denied')
  })

  await t.test('the token gets only what stayed ticked; a forged extra scope is ignored', async (t) => {
    const agent = new Agent(base)
    const { verifier, path } = start({ scope: 'user:read user:write role:read', prompt: 'consent' })
    const location = await authorizeThrough(agent, path, { keep: ['role:read', 'key:write'] })
    const tokens = await exchange(location.searchParams.get('code') as string, verifier)
    t.equal(tokens.body.scope, 'role:read')
  })

  await t.test('PKCE and redirect checks at the token endpoint', async (t) => {
    const agent = new Agent(base)
    const one = start()
    const code = (await authorizeThrough(agent, one.path)).searchParams.get('code') as string
    const wrong = await exchange(code, pkce().verifier)
    t.equal(wrong.status, 400)
    t.equal(wrong.body.error, 'invalid_grant')
    t.equal((await exchange(code, one.verifier)).body.error, 'invalid_grant', 'a failed exchange still used the code up')

    const two = start()
    const code2 = (await authorizeThrough(agent, two.path)).searchParams.get('code') as string
    t.equal((await exchange(code2, two.verifier, { redirect_uri: 'http://127.0.0.1:9/other' })).body.error, 'invalid_grant')

    const three = start()
    const code3 = (await authorizeThrough(agent, three.path)).searchParams.get('code') as string
    const noVerifier = await tokenRequest(base, { grant_type: 'authorization_code', code: code3, redirect_uri: REDIRECT, client_id: client.client_id })
    t.equal(noVerifier.body.error, 'invalid_grant')

    const four = start()
    const code4 = (await authorizeThrough(agent, four.path)).searchParams.get('code') as string
    t.equal((await exchange(code4, four.verifier, { resource: 'https://elsewhere.example/' })).body.error, 'invalid_target', 'another resource is refused')
    const five0 = start()
    const code40 = (await authorizeThrough(agent, five0.path)).searchParams.get('code') as string
    const other0 = await exchange(code40, five0.verifier, { resource: `${base}/` })
    t.equal(decodeJwt(other0.body.access_token).aud, `${base}/api/mcp`, "this service's other name is accepted; the code's resource stays the audience")

    const other = await registerPublic(base, REDIRECT)
    const five = start()
    const code5 = (await authorizeThrough(agent, five.path)).searchParams.get('code') as string
    const stolen = await exchange(code5, five.verifier, { client_id: other.client_id })
    t.equal(stolen.body.error, 'invalid_grant', 'a code is for the client it was issued to')
  })

  await t.test('expired code', async (t) => {
    const agent = new Agent(base)
    const { verifier, path } = start()
    const code = (await authorizeThrough(agent, path)).searchParams.get('code') as string
    await app.db.updateTable('authorization_codes').set({ expires_at: Date.now() - 1000 }).execute()
    const res = await exchange(code, verifier)
    t.equal(res.status, 400)
    t.equal(res.body.error, 'invalid_grant')
    t.match(res.body.error_description, /expired/)
  })

  await t.test('CSRF token missing or wrong', async (t) => {
    const agent = new Agent(base)
    const page = await (await agent.get(start({ prompt: 'consent' }).path)).text()
    const form = parseForm(page)
    const fields = (csrf: string | undefined): Array<[string, string]> => [
      ...(csrf === undefined ? [] : [['csrf_token', csrf] as [string, string]]),
      ['request', form.hidden.request], ['username', ADMIN_LOGIN.username], ['password', ADMIN_LOGIN.password]
    ]
    const missing = await agent.postForm(form.action, fields(undefined))
    t.equal(missing.status, 403)
    t.match(await missing.text(), /could not be verified/)
    const wrong = await agent.postForm(form.action, fields('A'.repeat(43)))
    t.equal(wrong.status, 403)
    const stranger = new Agent(base)
    const foreign = await stranger.postForm(form.action, fields(form.hidden.csrf_token))
    t.equal(foreign.status, 403, "another browser's token does not match this browser's cookie")
    t.notOk(agent.cookies.has('iam_session'), 'no session was opened')

    const ok = await agent.postForm(form.action, fields(form.hidden.csrf_token))
    t.equal(ok.status, 303)
    const consent = await (await agent.get(ok.headers.get('location') as string)).text()
    const consentForm = parseForm(consent)
    const noCsrf = await agent.postForm(consentForm.action, [['request', consentForm.hidden.request], ['decision', 'approve'], ['scope', 'user:read']])
    t.equal(noCsrf.status, 403)
    const tampered = await agent.postForm(consentForm.action, [['csrf_token', consentForm.hidden.csrf_token], ['request', `${consentForm.hidden.request}x`], ['decision', 'approve']])
    t.equal(tampered.status, 400, 'a tampered request is refused')
  })

  await t.test('refresh: rotation, narrowing but never widening; userinfo and revocation by a public client', async (t) => {
    const agent = new Agent(base)
    const { verifier, path } = start({ scope: 'openid user:read role:read' })
    const code = (await authorizeThrough(agent, path)).searchParams.get('code') as string
    const first = await exchange(code, verifier)
    t.equal(first.body.scope, 'openid role:read user:read')
    const refresh = (token: string, scope?: string) => tokenRequest(base, { grant_type: 'refresh_token', refresh_token: token, client_id: client.client_id, ...(scope === undefined ? {} : { scope }) })
    const wider = await refresh(first.body.refresh_token, 'user:read user:write')
    t.equal(wider.status, 400)
    t.equal(wider.body.error, 'invalid_scope', 'never wider')
    const narrower = await refresh(first.body.refresh_token, 'user:read')
    t.equal(narrower.status, 200, 'a refused widening did not use the refresh token up')
    t.equal(narrower.body.scope, 'user:read', 'narrower is fine')
    t.equal(narrower.body.id_token, undefined, 'no openid, no ID token')
    t.not(narrower.body.refresh_token, first.body.refresh_token, 'rotated')
    const other = await registerPublic(base, REDIRECT)
    const foreign = await tokenRequest(base, { grant_type: 'refresh_token', refresh_token: narrower.body.refresh_token, client_id: other.client_id })
    t.equal(foreign.body.error, 'invalid_grant', 'another client cannot use it')

    const noOpenid = await fetch(`${base}/api/userinfo`, { headers: { authorization: `Bearer ${narrower.body.access_token}` } })
    t.equal(noOpenid.status, 403, 'userinfo needs openid')
    t.match(noOpenid.headers.get('www-authenticate'), /insufficient_scope/)
    t.equal((await fetch(`${base}/api/userinfo`)).status, 401)
    t.equal((await fetch(`${base}/api/userinfo?access_token=${encodeURIComponent(first.body.access_token as string)}`)).status, 401, 'never from the query string')
    const info = await fetch(`${base}/api/userinfo`, { headers: { authorization: `Bearer ${first.body.access_token}` } })
    t.same(await info.json(), { sub: 'built-in/admin' }, 'sub only without profile or email')

    const revoke = (token: string, clientId: string) => fetch(`${base}/api/login/oauth/revoke`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, client_id: clientId }).toString()
    })
    t.equal((await revoke(narrower.body.access_token, other.client_id)).status, 200, "another client's token: 200, nothing done")
    t.equal((await fetch(`${base}/api/userinfo`, { headers: { authorization: `Bearer ${first.body.access_token}` } })).status, 200)
    t.equal((await revoke(first.body.access_token, client.client_id)).status, 200)
    t.equal((await fetch(`${base}/api/userinfo`, { headers: { authorization: `Bearer ${first.body.access_token}` } })).status, 401, 'the access token is revoked')
    t.equal((await revoke('not-a-token', client.client_id)).status, 200)
    t.equal((await revoke(narrower.body.refresh_token, client.client_id)).status, 200)
    t.equal((await refresh(narrower.body.refresh_token)).body.error, 'invalid_grant', 'the refresh token is revoked')
    t.equal((await revoke('x', 'no-such-client')).status, 401, 'an unknown client is refused')
  })

  await t.test('what a client names itself is escaped on the pages', async (t) => {
    const evil = await registerPublic(base, REDIRECT, { client_name: '<script>alert(1)</script><img src=x onerror=alert(2)>' })
    const { path } = start({ client_id: evil.client_id })
    const html = await (await new Agent(base).get(path)).text()
    t.notMatch(html, /<script|<img/i)
    t.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;&lt;img src=x onerror=alert\(2\)&gt;/)
  })

  await t.test('introspection and revocation', async (t) => {
    const agent = new Agent(base)
    const confidential = await (await fetch(`${base}/api/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Confidential', redirect_uris: [REDIRECT] })
    })).json() as { client_id: string, client_secret: string }
    const { verifier, challenge } = pkce()
    const location = await authorizeThrough(agent, authorizePath({
      response_type: 'code', client_id: confidential.client_id, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: 'S256', scope: 'user:read'
    }))
    const auth = { authorization: `Basic ${Buffer.from(`${confidential.client_id}:${confidential.client_secret}`).toString('base64')}` }
    const noSecret = await tokenRequest(base, { grant_type: 'authorization_code', code: location.searchParams.get('code') as string, code_verifier: verifier, redirect_uri: REDIRECT, client_id: confidential.client_id })
    t.equal(noSecret.status, 401, 'a confidential client must authenticate')
    t.equal(noSecret.body.error, 'invalid_client')
    const good = await tokenRequest(base, { grant_type: 'authorization_code', code: location.searchParams.get('code') as string, code_verifier: verifier, redirect_uri: REDIRECT }, auth)
    t.equal(good.status, 200, 'client authentication comes first: the refused attempt did not use the code')
    const introspect = async (token: string, headers: Record<string, string>) => {
      const res = await fetch(`${base}/api/login/oauth/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams({ token }).toString() })
      return { status: res.status, body: await res.json() as Record<string, any> }
    }
    const active = await introspect(good.body.access_token, auth)
    t.equal(active.status, 200)
    t.match(active.body, { active: true, scope: 'user:read', client_id: confidential.client_id, sub: 'built-in/admin', username: 'admin', token_type: 'Bearer' })
    t.match((await introspect(good.body.refresh_token, auth)).body, { active: true, scope: 'user:read' })
    t.equal((await introspect(good.body.access_token, {})).status, 401, 'introspection needs client authentication')
    const publicCaller = await introspect(good.body.access_token, { 'content-type': 'application/x-www-form-urlencoded' })
    t.equal(publicCaller.status, 401)
    const bootstrap = { authorization: `Basic ${Buffer.from('test-bootstrap-client:test-bootstrap-secret-0123456789').toString('base64')}` }
    t.same((await introspect(good.body.access_token, bootstrap)).body, { active: false }, "another client's token is inactive for it")
    t.same((await introspect('garbage', auth)).body, { active: false })

    const revoke = await fetch(`${base}/api/login/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth }, body: new URLSearchParams({ token: good.body.refresh_token }).toString() })
    t.equal(revoke.status, 200)
    t.same((await introspect(good.body.refresh_token, auth)).body, { active: false })
    t.same((await introspect(good.body.access_token, auth)).body, { active: false }, 'revoking the refresh token revokes its family')
  })
})

test('prompt values, and the lockout shared with POST /api/login', async (t) => {
  const { app, base } = await listen(t, { env: { LOGIN_MAX_FAILURES: '2', LOGIN_LOCKOUT_SECONDS: '60' } })
  // Pre-registered: prompt=none errors go back to it (a registered client gets a page instead).
  const { application: client } = await app.store.applications.create({
    owner: 'built-in', name: 'pre-registered-web', tokenEndpointAuthMethod: 'none', redirectUris: [REDIRECT], grantTypes: ['authorization_code', 'refresh_token'], scopes: ['admin']
  })
  const path = (over: Record<string, string> = {}) => authorizePath({
    response_type: 'code', client_id: client.clientId, redirect_uri: REDIRECT, code_challenge: pkce().challenge, code_challenge_method: 'S256', scope: 'user:read', state: 's', ...over
  })

  const agent = new Agent(base)
  await authorizeThrough(agent, path())
  const none = await agent.get(path({ prompt: 'none' }))
  t.equal(none.status, 302)
  t.ok(new URL(none.headers.get('location') as string).searchParams.get('code'), 'prompt=none with a session and a consent: a code')
  const noConsent = await agent.get(path({ prompt: 'none', scope: 'user:write' }))
  t.equal(new URL(noConsent.headers.get('location') as string).searchParams.get('error'), 'consent_required')
  const login = await agent.get(path({ prompt: 'login' }))
  t.equal(login.status, 200)
  t.match(await login.text(), /name="password"/, 'prompt=login asks again despite the session')
  const consent = await agent.get(path({ prompt: 'consent' }))
  t.match(await consent.text(), /name="decision"/, 'prompt=consent asks again despite the consent')
  const bad = await agent.get(path({ prompt: 'none login' }))
  t.equal(new URL(bad.headers.get('location') as string).searchParams.get('error'), 'invalid_request')

  // Failures on the HTML form count towards the same lockout as POST /api/login.
  const stranger = new Agent(base)
  let page = await (await stranger.get(path())).text()
  for (let i = 0; i < 2; i++) {
    const res = await submitLogin(stranger, page, { username: 'admin', password: 'wrong-password' })
    page = await res.text()
  }
  const locked = await submitLogin(stranger, page, ADMIN_LOGIN)
  t.equal(locked.status, 429, 'locked out, even with the right password')
  t.match(await locked.text(), /Too many failed attempts/)
  const api = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN_LOGIN) })
  t.equal(api.status, 429, 'POST /api/login sees the same lockout')
})
