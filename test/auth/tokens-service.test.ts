import { createPublicKey, createVerify } from 'node:crypto'
import { test } from 'tap'
import { build, BOOTSTRAP_CLIENT, testDatabaseUrl } from '../helper.js'
import { buildWithProbe } from './probe.js'

function part (token: string, i: number): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[i], 'base64url').toString('utf8'))
}

test('fastify.tokens.issue: refresh and ID tokens, rows recorded, ID token verifiable with the JWKS', async (t) => {
  const app = await build(t, { env: { PUBLIC_URL: 'https://iam.example.com', ACCESS_TOKEN_TTL: '600', REFRESH_TOKEN_TTL: '7200' } })
  await app.store.users.update('built-in/admin', { email: 'admin@example.com', displayName: 'The Admin' })
  const issued = await app.tokens.issueDetailed({
    subject: 'built-in/admin',
    subjectKind: 'user',
    clientId: BOOTSTRAP_CLIENT.id,
    scopes: ['openid', 'profile', 'email', 'user:read'],
    audience: 'https://iam.example.com/api/mcp',
    refresh: true,
    idToken: true,
    nonce: 'n-0S6_WzA2Mj',
    codeId: 'code-1'
  })
  const res = issued.response
  t.match(res, { token_type: 'Bearer', expires_in: 600, scope: 'openid profile email user:read', refresh_token: String, id_token: String })
  t.equal(part(res.access_token, 1).iss, 'https://iam.example.com', 'issuer defaults to {base}')

  const refreshRow = await app.store.tokens.find(app.tokens.refreshTokenId(res.refresh_token ?? ''))
  t.match(refreshRow, { kind: 'refresh', subject: 'built-in/admin', familyId: issued.familyId, codeId: 'code-1', scope: res.scope })
  t.notOk(await app.store.tokens.find(res.refresh_token ?? ''), 'the refresh token itself is never stored')
  t.ok((refreshRow?.expiresAt ?? 0) - Date.now() > 7000 * 1000)
  t.match(await app.store.tokens.find(issued.accessTokenId), { kind: 'access', familyId: null, codeId: 'code-1' })

  const idToken = res.id_token ?? ''
  const header = part(idToken, 0)
  t.match(header, { alg: 'RS256', typ: 'JWT', kid: app.signingKeys.current().kid })
  t.match(part(idToken, 1), {
    iss: 'https://iam.example.com',
    sub: 'built-in/admin',
    aud: BOOTSTRAP_CLIENT.id,
    azp: BOOTSTRAP_CLIENT.id,
    nonce: 'n-0S6_WzA2Mj',
    name: 'The Admin',
    preferred_username: 'admin',
    email: 'admin@example.com',
    at_hash: String
  })
  const jwk = app.signingKeys.jwks().keys.find(k => k.kid === header.kid)
  const [h, p, sig] = idToken.split('.')
  t.ok(createVerify('RSA-SHA256').update(`${h}.${p}`).verify(createPublicKey({ key: jwk as never, format: 'jwk' }), Buffer.from(sig, 'base64url')), 'verifies with the published key')

  const continued = await app.tokens.issueDetailed({ subject: 'built-in/admin', subjectKind: 'user', clientId: BOOTSTRAP_CLIENT.id, scopes: ['user:read'], audience: 'https://iam.example.com', refresh: true, familyId: issued.familyId })
  t.equal(continued.familyId, issued.familyId, 'a rotation continues the family')
  t.notOk(continued.response.id_token)
  const appToken = await app.tokens.issue({ subject: 'built-in/app-built-in', subjectKind: 'application', clientId: BOOTSTRAP_CLIENT.id, scopes: ['openid'], audience: 'https://iam.example.com', idToken: true })
  t.notOk(appToken.id_token, 'no ID token for an application acting for itself')
})

test('Basic credentials that a client form-encoded first (RFC 6749 §2.3.1) are accepted', async (t) => {
  const app = await buildWithProbe(t)
  const { clientSecret } = await app.store.applications.create({ owner: 'built-in', name: 'plus', clientId: 'plus-client', clientSecret: 'secret with+plus%and spaces', scopes: ['user:read'] })
  const raw = 'Basic ' + Buffer.from(`plus-client:${clientSecret ?? ''}`).toString('base64')
  const encoded = 'Basic ' + Buffer.from(`plus-client:${encodeURIComponent(clientSecret ?? '')}`).toString('base64')
  t.equal((await app.inject({ url: '/test/whoami', headers: { authorization: raw } })).statusCode, 200, 'as is')
  t.equal((await app.inject({ url: '/test/whoami', headers: { authorization: encoded } })).statusCode, 200, 'form-encoded')
})

test('signing keys are encrypted at rest under KEY_ENCRYPTION_SECRET, and start-up names a wrong one', async (t) => {
  const DATABASE_URL = await testDatabaseUrl(t)
  const secret = 'a-key-encryption-secret-of-32-chars!'
  const app = await buildWithProbe(t, { DATABASE_URL, KEY_ENCRYPTION_SECRET: secret })
  const rows = await app.store.signingKeys.list()
  t.ok(rows.every(r => r.privatePem.startsWith('enc:v1:')), 'no private key in clear')
  const rotated = await app.signingKeys.rotate()
  t.ok((await app.store.signingKeys.find(rotated.kid))?.privatePem.startsWith('enc:v1:'), 'rotated keys too')
  const token = await app.tokens.issue({ subject: 'built-in/app-built-in', subjectKind: 'application', clientId: BOOTSTRAP_CLIENT.id, scopes: ['user:read'], audience: app.publicBase() })
  t.equal((await app.inject({ url: '/test/whoami', headers: { authorization: `Bearer ${token.access_token}` } })).statusCode, 200)
  await t.rejects(buildWithProbe(t, { DATABASE_URL, KEY_ENCRYPTION_SECRET: 'another-secret-that-is-32-chars-long' }), /KEY_ENCRYPTION_SECRET/)
  await t.rejects(buildWithProbe(t, { DATABASE_URL }), /KEY_ENCRYPTION_SECRET/)
})
