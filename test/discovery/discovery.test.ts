import { test } from 'tap'
import { build } from '../helper.js'
import { OIDC_SCOPES } from '../../lib/scopes.js'

const PUBLIC_URL = 'https://iam.example.com'

test('discovery documents', async (t) => {
  const app = await build(t, { env: { PUBLIC_URL } })
  const toolScopes = [...app.tools.scopes].sort()
  const advertised = [...OIDC_SCOPES, ...toolScopes]

  t.test('protected resource metadata (RFC 9728) names the resource and its one authorization server', async (t) => {
    const res = await app.inject({ url: '/.well-known/oauth-protected-resource' })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['access-control-allow-origin'], '*')
    const body = res.json()
    t.equal(body.resource, PUBLIC_URL)
    t.same(body.authorization_servers, [PUBLIC_URL])
    t.same(body.bearer_methods_supported, ['header'])
    t.same(body.scopes_supported, advertised)
    t.equal(body.resource_name, 'iam-mcp')
    for (const alias of ['read', 'write', 'admin']) t.notOk(body.scopes_supported.includes(alias), `alias ${alias} is never advertised`)
  })

  t.test('the path-inserted form for /api/mcp', async (t) => {
    const res = await app.inject({ url: '/.well-known/oauth-protected-resource/api/mcp' })
    t.equal(res.statusCode, 200)
    t.equal(res.json().resource, `${PUBLIC_URL}/api/mcp`)
    t.same(res.json().authorization_servers, [PUBLIC_URL])
  })

  t.test('per-application metadata narrows the scopes; an unknown application is 404 JSON', async (t) => {
    const res = await app.inject({ url: '/.well-known/app-built-in/oauth-protected-resource' })
    t.equal(res.statusCode, 200)
    t.same(res.json().scopes_supported, advertised, 'the bootstrap application may be granted everything (admin)')
    await app.store.applications.create({ owner: 'built-in', name: 'reader', scopes: ['user:read', 'read', 'nonsense:read'], grantTypes: ['client_credentials'] })
    const narrow = await app.inject({ url: '/.well-known/reader/oauth-protected-resource' })
    t.equal(narrow.statusCode, 200)
    t.same(narrow.json().scopes_supported, toolScopes.filter(s => s.endsWith(':read')), 'aliases expanded, unknown scopes dropped, no OIDC without a user flow')
    t.equal(narrow.json().resource, PUBLIC_URL)
    const as = await app.inject({ url: '/.well-known/reader/oauth-authorization-server' })
    t.equal(as.json().issuer, PUBLIC_URL)
    t.same(as.json().scopes_supported, toolScopes.filter(s => s.endsWith(':read')))
    const oidc = await app.inject({ url: '/.well-known/reader/openid-configuration' })
    t.equal(oidc.json().issuer, PUBLIC_URL)
    const jwks = await app.inject({ url: '/.well-known/reader/jwks' })
    t.equal(jwks.statusCode, 200)
    t.equal(jwks.json().keys.length, 1)
    for (const doc of ['oauth-protected-resource', 'oauth-authorization-server', 'openid-configuration', 'jwks']) {
      const missing = await app.inject({ url: `/.well-known/no-such-app/${doc}` })
      t.equal(missing.statusCode, 404, doc)
      t.equal(missing.json().error, 'not_found')
    }
  })

  t.test('authorization server metadata (RFC 8414) and the OpenID configuration are the same issuer', async (t) => {
    for (const url of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const res = await app.inject({ url })
      t.equal(res.statusCode, 200)
      t.equal(res.headers['access-control-allow-origin'], '*')
      const body = res.json()
      t.equal(body.issuer, PUBLIC_URL)
      t.equal(body.authorization_endpoint, `${PUBLIC_URL}/login/oauth/authorize`)
      t.equal(body.token_endpoint, `${PUBLIC_URL}/api/login/oauth/access_token`)
      t.equal(body.registration_endpoint, `${PUBLIC_URL}/api/oauth/register`)
      t.equal(body.introspection_endpoint, `${PUBLIC_URL}/api/login/oauth/introspect`)
      t.equal(body.revocation_endpoint, `${PUBLIC_URL}/api/login/oauth/revoke`)
      t.equal(body.userinfo_endpoint, `${PUBLIC_URL}/api/userinfo`)
      t.equal(body.jwks_uri, `${PUBLIC_URL}/.well-known/jwks`)
      t.same(body.response_types_supported, ['code'])
      t.same(body.code_challenge_methods_supported, ['S256'])
      t.same(body.grant_types_supported, ['authorization_code', 'client_credentials', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'urn:ietf:params:oauth:grant-type:token-exchange'])
      t.same(body.authorization_grant_profiles_supported, ['urn:ietf:params:oauth:grant-profile:id-jag'])
      t.same(body.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'])
      t.same(body.token_endpoint_auth_signing_alg_values_supported, ['RS256', 'PS256', 'ES256', 'EdDSA'])
      t.equal(body.authorization_response_iss_parameter_supported, true)
      t.same(body.id_token_signing_alg_values_supported, ['RS256'])
      t.same(body.scopes_supported, advertised)
    }
  })

  t.test('the JWKS holds public RSA keys only', async (t) => {
    const res = await app.inject({ url: '/.well-known/jwks' })
    t.equal(res.statusCode, 200)
    const { keys } = res.json()
    t.equal(keys.length, 1)
    t.match(keys[0], { kty: 'RSA', alg: 'RS256', use: 'sig', kid: String })
    t.notOk('d' in keys[0], 'no private exponent')
    t.equal(keys[0].kid, app.signingKeys.current().kid)
  })

  t.test('CORS preflight is answered on discovery, and CORS is not opened elsewhere', async (t) => {
    const pre = await app.inject({ method: 'OPTIONS', url: '/.well-known/oauth-authorization-server', headers: { origin: 'https://inspector.example', 'access-control-request-method': 'GET' } })
    t.equal(pre.statusCode, 204)
    t.equal(pre.headers['access-control-allow-origin'], '*')
    const health = await app.inject({ url: '/health/live', headers: { origin: 'https://inspector.example' } })
    t.notOk(health.headers['access-control-allow-origin'])
  })
})

test('without PUBLIC_URL, {base} is the listen address; forwarded headers never change it', async (t) => {
  // The test's requests come from 127.0.0.1: a trusted proxy, whose forwarded host is still ignored.
  const app = await build(t, { env: { TRUST_PROXY: '127.0.0.1' } })
  const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' }
  const plain = await app.inject({ url: '/.well-known/oauth-protected-resource' })
  t.match(plain.json().resource, /^http:\/\/127\.0\.0\.1:\d+$/)
  const base = plain.json().resource as string
  const res = await app.inject({ url: '/.well-known/oauth-protected-resource', headers: forwarded })
  t.equal(res.json().resource, base, 'the resource is not the forwarded origin')
  t.same(res.json().authorization_servers, [base])
  for (const url of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration', '/.well-known/app-built-in/oauth-authorization-server']) {
    const as = await app.inject({ url, headers: { ...forwarded, host: 'evil.example' } })
    t.equal(as.json().issuer, base, `${url}: the issuer is not the forwarded (or Host) origin`)
    t.equal(as.json().token_endpoint, `${base}/api/login/oauth/access_token`)
  }
})

test('after a key rotation the JWKS keeps the old key and signs with the new one', async (t) => {
  const app = await build(t)
  const before = app.signingKeys.current().kid
  const rotated = await app.signingKeys.rotate()
  t.not(rotated.kid, before)
  t.equal(rotated.current, true)
  t.equal(app.signingKeys.current().kid, rotated.kid)
  const kids = (await app.inject({ url: '/.well-known/jwks' })).json().keys.map((k: { kid: string }) => k.kid)
  t.same(new Set(kids), new Set([before, rotated.kid]))
  const listed = await app.signingKeys.list()
  t.same(listed.map(k => [k.kid, k.current]), [[rotated.kid, true], [before, false]])
  t.ok(listed[1].retiredTime)
})
