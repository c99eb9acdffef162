import { test, type Test } from 'tap'
import { ADMIN, testDatabaseUrl, BOOTSTRAP_CLIENT } from '../helper.js'
import { Agent, authorizePath, authorizeThrough, pkce, register, submitLogin, tokenRequest } from '../oauth/flow.js'
import { basic, callTool, clientCredentials, login, request, startServer, succeeded, type HttpAnswer } from './process.js'

/**
 * Security headers on every HTML page, `Cache-Control: no-store` on every answer that carries a
 * credential, and a whole busy session at LOG_LEVEL=trace whose complete log output (stdout and
 * stderr of the process) holds none of the passwords, secrets, tokens, codes and cookies used.
 */

/** An agent that keeps every answer it got, to check the HTML ones. */
class RecordingAgent extends Agent {
  readonly answers: Array<{ path: string, status: number, headers: Headers }> = []
  override async request (path: string, init: RequestInit = {}): Promise<Response> {
    const res = await super.request(path, init)
    this.answers.push({ path, status: res.status, headers: res.headers })
    return res
  }
}

function noStore (t: Test, what: string, headers: Headers): void {
  t.match(headers.get('cache-control') ?? '', /no-store/, `${what}: Cache-Control no-store`)
}

/** The CSP's effective script policy: script-src, else default-src. */
function scriptPolicy (csp: string): string | undefined {
  const directives = new Map(csp.split(';').map(d => d.trim().split(/\s+/)).filter(d => d[0] !== '').map(([name, ...values]) => [name.toLowerCase(), values.join(' ')]))
  return directives.get('script-src') ?? directives.get('default-src')
}

test('security headers, no-store on credentials, and no secret in any log line', async (t) => {
  const server = await startServer(t, { DATABASE_URL: await testDatabaseUrl(t), LOG_LEVEL: 'trace' })
  const { base } = server
  /** Every secret the scenario handles; none may appear in the logs. */
  const secrets = new Map<string, string>([['admin password', ADMIN.password], ['bootstrap client secret', BOOTSTRAP_CLIENT.secret]])
  const keep = (what: string, value: unknown): void => {
    if (typeof value === 'string' && value.length >= 8) secrets.set(what, value)
  }

  // Session login, right and wrong.
  const wrongPassword = 'a-wrong-password-guess-123'
  keep('wrong password', wrongPassword)
  const failed = await login(base, ADMIN.username, wrongPassword)
  t.equal(failed.status, 401, 'a wrong password is refused')
  noStore(t, 'login refusal', failed.headers)
  const session = await login(base, ADMIN.username, ADMIN.password)
  t.equal(session.status, 200, 'login')
  noStore(t, 'login', session.headers)
  keep('session cookie', session.cookie?.split('=').slice(1).join('='))

  // Token endpoint: success and refusal.
  const cc = await clientCredentials(base)
  t.equal(cc.status, 200, 'client_credentials token')
  noStore(t, 'token response', cc.headers)
  keep('client_credentials access token', cc.json.access_token)
  const badClient = await clientCredentials(base, BOOTSTRAP_CLIENT.id, 'not-the-bootstrap-secret-xyz')
  keep('wrong client secret', 'not-the-bootstrap-secret-xyz')
  t.equal(badClient.status, 401, 'a wrong client secret is refused')
  noStore(t, 'token refusal', badClient.headers)

  // Dynamic client registration (a confidential client: it gets a secret).
  const redirectUri = 'http://127.0.0.1:9/callback'
  const registered = await register(base, { client_name: 'Logged agent', redirect_uris: [redirectUri], token_endpoint_auth_method: 'client_secret_basic' })
  t.equal(registered.status, 201, 'registration')
  noStore(t, 'registration response', registered.headers)
  const client = await registered.json() as Record<string, string>
  keep('registered client secret', client.client_secret)
  keep('registration access token', client.registration_access_token)

  // The HTML flow: login page (wrong password first), consent, code, tokens, refresh.
  const agent = new RecordingAgent(base)
  const { verifier, challenge } = pkce()
  keep('code verifier', verifier)
  const path = authorizePath({ response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: 'S256', scope: 'openid profile user:read', state: 'st-1' })
  const page = await agent.get(path)
  const pageHtml = await page.text()
  t.equal(page.status, 200, `the authorization request shows the login page ${page.headers.get('location') ?? ''} ${pageHtml.slice(0, 200)}`)
  const retry = await submitLogin(agent, pageHtml, { username: ADMIN.username, password: wrongPassword })
  t.equal(retry.status, 401, 'the login page refuses a wrong password')
  await retry.text()
  const callback = await authorizeThrough(agent, path, { creds: { username: ADMIN.username, password: ADMIN.password } })
  const code = callback.searchParams.get('code') as string
  keep('authorization code', code)
  for (const [k, v] of agent.cookies) keep(`browser cookie ${k}`, v)
  const auth = { authorization: basic(client.client_id, client.client_secret) }
  const exchanged = await tokenRequest(base, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }, auth)
  t.equal(exchanged.status, 200, 'authorization code exchanged')
  keep('user access token', exchanged.body.access_token)
  keep('refresh token', exchanged.body.refresh_token)
  keep('id token', exchanged.body.id_token)
  const refreshed = await tokenRequest(base, { grant_type: 'refresh_token', refresh_token: exchanged.body.refresh_token }, auth)
  t.equal(refreshed.status, 200, 'refresh token rotated')
  keep('rotated access token', refreshed.body.access_token)
  keep('rotated refresh token', refreshed.body.refresh_token)

  // Error pages are pages too.
  for (const p of [authorizePath({ response_type: 'code', client_id: 'no-such-client', redirect_uri: redirectUri }), authorizePath({ response_type: 'code', client_id: client.client_id, redirect_uri: 'http://127.0.0.1:9/not-registered' })]) {
    await (await agent.get(p)).text()
  }
  await (await agent.postForm('/login/oauth/authorize/login', [['csrf_token', 'forged'], ['request', 'forged'], ['username', 'x'], ['password', 'y']])).text()

  // Tool calls with passwords and secrets in arguments and results.
  const userPassword = 'user-password-in-arguments-1'
  const newPassword = 'user-password-in-arguments-2'
  keep('user password', userPassword)
  keep('changed user password', newPassword)
  const bearer = `Bearer ${cc.json.access_token as string}`
  t.ok(succeeded(await callTool(base, bearer, 'add_user', { owner: 'built-in', name: 'logged-user', password: userPassword, email: 'logged@example.com' })), 'add_user with a password')
  t.ok(succeeded(await callTool(base, basic(), 'update_user', { id: 'built-in/logged-user', password: newPassword })), 'update_user with a password')
  const added = await callTool(base, basic(), 'add_application', { owner: 'built-in', name: 'logged-app', grantTypes: ['client_credentials'], scopes: ['user:read'] })
  t.ok(succeeded(added), 'add_application')
  keep('application secret', added.json?.result?.structuredContent?.clientSecret)
  noStore(t, 'add_application (shows a client secret)', added.headers)
  const rotated = await callTool(base, undefined, 'rotate_application_secret', { id: 'built-in/logged-app' }, { cookie: session.cookie as string })
  t.ok(succeeded(rotated), 'rotate_application_secret over the session cookie')
  keep('rotated application secret', rotated.json?.result?.structuredContent?.clientSecret)
  noStore(t, 'rotate_application_secret (shows a client secret)', rotated.headers)
  const appToken = await clientCredentials(base, added.json?.result?.structuredContent?.application?.clientId, rotated.json?.result?.structuredContent?.clientSecret)
  t.equal(appToken.status, 200, 'the rotated secret works')
  keep('application access token', appToken.json?.access_token)
  // A caller that misplaces secrets in the URL.
  const misplaced: HttpAnswer = await request(`${base}/api/mcp?access_token=${encodeURIComponent(cc.json.access_token as string)}&client_secret=${encodeURIComponent(BOOTSTRAP_CLIENT.secret)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' })
  t.equal(misplaced.status, 401, 'a token in the query string is ignored')

  // Introspection and revocation carry tokens in their bodies.
  await request(`${base}/api/login/oauth/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth }, body: new URLSearchParams({ token: refreshed.body.access_token }).toString() })
  await request(`${base}/api/login/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth }, body: new URLSearchParams({ token: refreshed.body.refresh_token }).toString() })
  const out = await request(`${base}/api/logout`, { method: 'POST', headers: { cookie: session.cookie as string } })
  t.equal(out.status, 200, 'logout')

  // Every HTML page: CSP without inline scripts, nosniff, no framing, a referrer policy, no-store.
  const pages = agent.answers.filter(a => (a.headers.get('content-type') ?? '').startsWith('text/html'))
  t.ok(pages.length >= 5, `${pages.length} HTML pages seen (login, login error, consent, error pages)`)
  for (const p of pages) {
    const what = `${p.status} ${p.path.split('?')[0]}`
    const csp = p.headers.get('content-security-policy') ?? ''
    const scripts = scriptPolicy(csp)
    t.ok(scripts !== undefined && !/unsafe-inline|unsafe-eval|\*/.test(scripts), `${what}: CSP allows no inline script (${scripts ?? 'no script-src or default-src'})`)
    t.ok(/frame-ancestors 'none'/.test(csp) || /deny|sameorigin/i.test(p.headers.get('x-frame-options') ?? ''), `${what}: not frameable`)
    t.equal(p.headers.get('x-content-type-options'), 'nosniff', `${what}: X-Content-Type-Options nosniff`)
    t.ok((p.headers.get('referrer-policy') ?? '') !== '', `${what}: a Referrer-Policy (${p.headers.get('referrer-policy') ?? ''})`)
    noStore(t, what, p.headers)
  }

  // Stop cleanly (flushes the log), then scan everything the process wrote.
  const exit = await server.stop()
  t.equal(exit.code, 0, 'the server stops cleanly')
  const logs = server.output()
  const lines = logs.split('\n').filter(l => l.startsWith('{'))
  t.ok(lines.length > 25 && lines.some(l => l.includes('"level":10') || l.includes('"level":20')), `the log holds ${lines.length} lines, trace and debug among them: the scan has something to read`)
  t.ok(secrets.size >= 20, `${secrets.size} secrets used`)
  const leaked: string[] = []
  for (const [what, value] of secrets) {
    for (const form of new Set([value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)])) {
      if (logs.includes(form)) leaked.push(what)
    }
  }
  t.same(leaked, [], `no secret in ${logs.length} bytes of log output`)
})
