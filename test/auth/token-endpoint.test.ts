import { test } from 'tap'
import { build, BOOTSTRAP_CLIENT } from '../helper.js'

const PUBLIC_URL = 'https://iam.example.com'
const basic = (id: string, secret: string): string => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64')
const form = (fields: Record<string, string | string[]>): string => {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) p.append(k, one)
  return p.toString()
}
function claims (token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'))
}
function header (token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'))
}

test('client_credentials at the token endpoint', async (t) => {
  const app = await build(t, { env: { PUBLIC_URL } })
  const known = [...app.tools.scopes].sort()
  t.ok(known.includes('application:read') && known.includes('user:read'), 'the tools declare the scopes these tests use')
  const token = (payload: Record<string, string | string[]>, headers: Record<string, string> = { authorization: basic(BOOTSTRAP_CLIENT.id, BOOTSTRAP_CLIENT.secret) }) =>
    app.inject({ method: 'POST', url: '/api/login/oauth/access_token', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: form(payload) })

  t.test('no scope: every scope the application may be granted, aud {base}, no-store', async (t) => {
    const res = await token({ grant_type: 'client_credentials' })
    t.equal(res.statusCode, 200, res.body)
    t.equal(res.headers['cache-control'], 'no-store')
    const body = res.json()
    t.equal(body.token_type, 'Bearer')
    t.equal(body.expires_in, 3600)
    t.same(body.scope.split(' '), known, 'admin expanded; no OIDC scope; no alias')
    t.notOk(body.refresh_token, 'no refresh token for client_credentials')
    const c = claims(body.access_token)
    t.match(c, { iss: PUBLIC_URL, sub: 'built-in/app-built-in', aud: PUBLIC_URL, client_id: BOOTSTRAP_CLIENT.id, scope: body.scope, jti: String })
    t.equal((c.exp as number) - (c.iat as number), 3600)
    t.match(header(body.access_token), { alg: 'RS256', typ: 'at+jwt', kid: app.signingKeys.current().kid })
    const row = await app.store.tokens.find(c.jti as string)
    t.match(row, { kind: 'access', subject: 'built-in/app-built-in', subjectKind: 'application', audience: PUBLIC_URL })
  })

  t.test('requested scopes: a subset is granted exactly; aliases expand; OIDC scopes are dropped', async (t) => {
    const res = await token({ grant_type: 'client_credentials', scope: 'user:read application:read openid' })
    t.equal(res.statusCode, 200, res.body)
    t.equal(res.json().scope, 'application:read user:read')
    const alias = await token({ grant_type: 'client_credentials', scope: 'read' })
    t.same(alias.json().scope.split(' '), known.filter(s => s.endsWith(':read')))
  })

  t.test('narrowing (RFC 6749 §3.3): what may not be granted is dropped; nothing left is invalid_scope', async (t) => {
    const unknown = await token({ grant_type: 'client_credentials', scope: 'user:read frobnicate:write' })
    t.equal(unknown.statusCode, 200, unknown.body)
    t.equal(unknown.json().scope, 'user:read', 'an unknown scope is dropped, not refused')
    const onlyUnknown = await token({ grant_type: 'client_credentials', scope: 'frobnicate:write' })
    t.equal(onlyUnknown.statusCode, 400)
    t.equal(onlyUnknown.json().error, 'invalid_scope')
    const { clientSecret } = await app.store.applications.create({ owner: 'built-in', name: 'reader', scopes: ['user:read'], grantTypes: ['client_credentials'], clientId: 'reader-client' })
    const reader = { authorization: basic('reader-client', clientSecret ?? '') }
    const wider = await token({ grant_type: 'client_credentials', scope: 'user:read user:write' }, reader)
    t.equal(wider.statusCode, 200, wider.body)
    t.equal(wider.json().scope, 'user:read', 'granted the intersection; the response says so')
    t.equal(claims(wider.json().access_token).scope, 'user:read', 'the token holds only what was granted')
    // What a stock MCP client asks for: the 401 challenge's scope list, every tool scope.
    const everything = await token({ grant_type: 'client_credentials', scope: known.join(' ') }, reader)
    t.equal(everything.statusCode, 200, everything.body)
    t.equal(everything.json().scope, 'user:read')
    const aliased = await token({ grant_type: 'client_credentials', scope: 'admin' }, reader)
    t.equal(aliased.json().scope, 'user:read', 'an alias is expanded, then narrowed')
    const none = await token({ grant_type: 'client_credentials', scope: 'user:write application:read' }, reader)
    t.equal(none.statusCode, 400)
    t.equal(none.json().error, 'invalid_scope')
    t.equal(none.headers['cache-control'], 'no-store')
    const onlyOidc = await token({ grant_type: 'client_credentials', scope: 'openid profile' }, reader)
    t.equal(onlyOidc.json().error, 'invalid_scope')
    const all = await token({ grant_type: 'client_credentials' }, reader)
    t.equal(all.json().scope, 'user:read')
  })

  t.test('resource (RFC 8707): normalised, becomes aud; any other resource is invalid_target', async (t) => {
    for (const [resource, aud] of [
      [`${PUBLIC_URL}/`, PUBLIC_URL],
      ['HTTPS://IAM.Example.COM:443', PUBLIC_URL],
      [`${PUBLIC_URL}/api/mcp`, `${PUBLIC_URL}/api/mcp`],
      [`${PUBLIC_URL}/api/mcp/`, `${PUBLIC_URL}/api/mcp`]
    ]) {
      const res = await token({ grant_type: 'client_credentials', resource })
      t.equal(res.statusCode, 200, resource)
      t.equal(claims(res.json().access_token).aud, aud, resource)
    }
    for (const resource of ['https://evil.example.com', `${PUBLIC_URL}/other`, 'http://iam.example.com', `${PUBLIC_URL}#frag`, 'not a uri']) {
      const res = await token({ grant_type: 'client_credentials', resource })
      t.equal(res.statusCode, 400, resource)
      t.equal(res.json().error, 'invalid_target', resource)
    }
    const two = await token({ grant_type: 'client_credentials', resource: [PUBLIC_URL, `${PUBLIC_URL}/api/mcp`] })
    t.equal(two.json().error, 'invalid_target')
  })

  t.test('client authentication: body credentials, JSON bodies, wrong secrets, several methods', async (t) => {
    const post = await token({ grant_type: 'client_credentials', client_id: BOOTSTRAP_CLIENT.id, client_secret: BOOTSTRAP_CLIENT.secret, scope: 'user:read' }, {})
    t.equal(post.statusCode, 200, post.body)
    const json = await app.inject({ method: 'POST', url: '/api/login/oauth/access_token', payload: { grant_type: 'client_credentials', client_id: BOOTSTRAP_CLIENT.id, client_secret: BOOTSTRAP_CLIENT.secret } })
    t.equal(json.statusCode, 200, json.body)
    const wrong = await token({ grant_type: 'client_credentials' }, { authorization: basic(BOOTSTRAP_CLIENT.id, 'wrong-secret') })
    t.equal(wrong.statusCode, 401)
    t.equal(wrong.json().error, 'invalid_client')
    t.match(wrong.headers['www-authenticate'], /^Basic /)
    const wrongPost = await token({ grant_type: 'client_credentials', client_id: BOOTSTRAP_CLIENT.id, client_secret: 'nope' }, {})
    t.equal(wrongPost.statusCode, 401)
    t.equal(wrongPost.json().error, 'invalid_client')
    t.notOk(wrongPost.headers['www-authenticate'], 'no Basic challenge when Basic was not tried')
    const none = await token({ grant_type: 'client_credentials' }, {})
    t.equal(none.json().error, 'invalid_client')
    const both = await token({ grant_type: 'client_credentials', client_secret: BOOTSTRAP_CLIENT.secret })
    t.equal(both.json().error, 'invalid_request')
    const unknownClient = await token({ grant_type: 'client_credentials' }, { authorization: basic('no-such-client', 'whatever-secret') })
    t.equal(unknownClient.json().error, 'invalid_client')
  })

  t.test('malformed requests, unsupported and unauthorized grants, disabled and public clients', async (t) => {
    const badJson = await app.inject({ method: 'POST', url: '/api/login/oauth/access_token', headers: { 'content-type': 'application/json' }, payload: '{"grant_type":' })
    t.equal(badJson.statusCode, 400)
    t.equal(badJson.json().error, 'invalid_request')
    t.equal(badJson.headers['cache-control'], 'no-store')
    const text = await app.inject({ method: 'POST', url: '/api/login/oauth/access_token', headers: { 'content-type': 'text/plain' }, payload: 'grant_type=client_credentials' })
    t.equal(text.json().error, 'invalid_request')
    const missing = await token({})
    t.equal(missing.statusCode, 400)
    t.equal(missing.json().error, 'invalid_request')
    const twice = await token({ grant_type: 'client_credentials', scope: ['user:read', 'user:write'] })
    t.equal(twice.json().error, 'invalid_request')
    const password = await token({ grant_type: 'password', username: 'admin', password: 'x' })
    t.equal(password.json().error, 'unsupported_grant_type')
    const proto = await token({ grant_type: '__proto__' })
    t.equal(proto.json().error, 'unsupported_grant_type')
    const { clientSecret } = await app.store.applications.create({ owner: 'built-in', name: 'web-only', scopes: ['user:read'], grantTypes: ['authorization_code'], clientId: 'web-only-client' })
    const unauthorized = await token({ grant_type: 'client_credentials' }, { authorization: basic('web-only-client', clientSecret ?? '') })
    t.equal(unauthorized.statusCode, 400)
    t.equal(unauthorized.json().error, 'unauthorized_client')
    const disabled = await app.store.applications.create({ owner: 'built-in', name: 'disabled', scopes: ['user:read'], clientId: 'disabled-client', isDisabled: true })
    const refused = await token({ grant_type: 'client_credentials' }, { authorization: basic('disabled-client', disabled.clientSecret ?? '') })
    t.equal(refused.statusCode, 401)
    t.equal(refused.json().error, 'invalid_client')
    await app.store.applications.create({ owner: 'built-in', name: 'public', scopes: ['user:read'], clientId: 'public-client', tokenEndpointAuthMethod: 'none', grantTypes: ['client_credentials'] })
    const pub = await token({ grant_type: 'client_credentials', client_id: 'public-client' }, {})
    t.equal(pub.json().error, 'unauthorized_client', 'a public client never gets client_credentials')
  })
})

test('the token endpoint is rate-limited per IP with Retry-After', async (t) => {
  const app = await build(t, { env: { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW: '60000' } })
  const codes: number[] = []
  let last
  for (let i = 0; i < 5; i++) {
    last = await app.inject({ method: 'POST', url: '/api/login/oauth/access_token', payload: { grant_type: 'client_credentials', client_id: `c${i}`, client_secret: 'x' } })
    codes.push(last.statusCode)
  }
  t.same(codes, [401, 401, 401, 429, 429])
  t.ok(Number(last?.headers['retry-after']) > 0)
  t.equal(last?.json().error, 'temporarily_unavailable')
})
