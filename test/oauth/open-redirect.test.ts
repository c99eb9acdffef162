import { test } from 'tap'
import { listen } from '../helper.js'
import { Agent, authorizePath, authorizeThrough, parseForm, pkce, registerPublic, submitLogin, ADMIN_LOGIN } from './flow.js'

const PHISH = 'https://phish.example/login'
const REDIRECT = 'http://127.0.0.1:9/callback'

/*
 * Anyone may register a client with any redirect URI: until a person has seen a page of ours
 * in the flow, the authorization endpoint's errors for such a client are pages, not redirects.
 */
test('a registered client gets no redirect before a person has seen our page', async (t) => {
  const { app, base } = await listen(t)
  const phish = await registerPublic(base, PHISH)
  const local = await registerPublic(base, REDIRECT)
  const ask = (clientId: string, redirectUri: string, over: Record<string, string | undefined> = {}) => authorizePath({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, code_challenge: pkce().challenge, code_challenge_method: 'S256', scope: 'user:read', state: 's', ...over
  })

  await t.test('the reported request is an error page', async (t) => {
    const res = await new Agent(base).get(`/login/oauth/authorize?client_id=${encodeURIComponent(phish.client_id)}&response_type=x`)
    t.equal(res.status, 400)
    t.equal(res.headers.get('location'), null)
    t.match(res.headers.get('content-type'), /text\/html/)
    const html = await res.text()
    t.match(html, /unsupported_response_type/)
    t.notMatch(html, /phish\.example/, 'the page does not link to the client either')
  })

  await t.test('every error before our page is a page, prompt=none included', async (t) => {
    const agent = new Agent(base)
    const cases: Array<[Record<string, string | undefined>, string]> = [
      [{ code_challenge: undefined }, 'invalid_request'],
      [{ scope: 'nothing:known' }, 'invalid_scope'],
      [{ resource: 'https://elsewhere.example/' }, 'invalid_target'],
      [{ prompt: 'none' }, 'login_required']
    ]
    for (const [over, code] of cases) {
      const res = await agent.get(ask(phish.client_id, PHISH, over))
      t.equal(res.status, 400, JSON.stringify(over))
      t.equal(res.headers.get('location'), null)
      t.match(await res.text(), code)
    }
    // Signed in, but no consent yet: prompt=none still shows no page of ours.
    const login = await agent.get(ask(local.client_id, REDIRECT))
    const signedIn = await submitLogin(agent, await login.text(), ADMIN_LOGIN)
    t.equal(signedIn.status, 303)
    const none = await agent.get(ask(local.client_id, REDIRECT, { prompt: 'none' }))
    t.equal(none.status, 400)
    t.match(await none.text(), /consent_required/)
  })

  await t.test('after the consent page, a denial goes back to the client', async (t) => {
    const denied = await authorizeThrough(new Agent(base), ask(local.client_id, REDIRECT), { decision: 'deny' })
    t.equal(`${denied.origin}${denied.pathname}`, REDIRECT)
    t.equal(denied.searchParams.get('error'), 'access_denied')
  })

  await t.test('a pre-registered application keeps its error redirects', async (t) => {
    const { application } = await app.store.applications.create({ owner: 'built-in', name: 'pre-registered', tokenEndpointAuthMethod: 'none', redirectUris: [REDIRECT], grantTypes: ['authorization_code'], scopes: ['read'] })
    const res = await new Agent(base).get(ask(application.clientId, REDIRECT, { response_type: 'x' }))
    t.equal(res.status, 302)
    t.equal(new URL(res.headers.get('location') ?? '').searchParams.get('error'), 'unsupported_response_type')
  })
})

test('the consent page names the organization that owns the application', async (t) => {
  const { app, base } = await listen(t)
  await app.store.organizations.create({ name: 'acme', displayName: 'Acme Corporation' })
  const { application } = await app.store.applications.create({ owner: 'acme', name: 'acme-portal', displayName: 'Acme portal', tokenEndpointAuthMethod: 'none', redirectUris: [REDIRECT], grantTypes: ['authorization_code'], scopes: ['read'] })
  const agent = new Agent(base)
  const login = await agent.get(authorizePath({ response_type: 'code', client_id: application.clientId, redirect_uri: REDIRECT, code_challenge: pkce().challenge, code_challenge_method: 'S256', scope: 'user:read' }))
  const signedIn = await submitLogin(agent, await login.text(), ADMIN_LOGIN)
  const consent = await agent.get(signedIn.headers.get('location') ?? '')
  t.equal(consent.status, 200)
  const html = await consent.text()
  t.ok(parseForm(html).scopes.includes('user:read'), 'the consent page')
  t.match(html, /Acme portal/)
  t.match(html, /organization <strong>Acme Corporation \(acme\)<\/strong>/)
})
