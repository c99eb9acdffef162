import { test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { BOOTSTRAP_CLIENT } from '../helper.js'
import { BASE, BOOTSTRAP_BASIC, basic, buildMcp, rpc } from '../mcp/fixtures/util.js'
import { dpopBinding } from '../../lib/oauth/tokens.js'
import { hmacProof, proofKey, signProof, unsignedProof, type ProofKey } from './dpop-fixtures.js'
import { generateKeyPair } from 'jose'

const TOKEN_URL = `${BASE}/api/login/oauth/access_token`
const MCP_URL = `${BASE}/api/mcp`
const LIST = { jsonrpc: '2.0', id: 7, method: 'tools/list' }
const now = (): number => Math.floor(Date.now() / 1000)

function claims (token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'))
}

async function tokenRequest (app: FastifyInstance, fields: Record<string, string>, headers: Record<string, string | string[]> = {}) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/login/oauth/access_token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(fields).toString()
  })
  return { status: res.statusCode, body: res.json() }
}

/** A DPoP-bound access token for the bootstrap application (client_credentials with a proof). */
async function boundToken (app: FastifyInstance, key: ProofKey): Promise<string> {
  const res = await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: BOOTSTRAP_BASIC, dpop: await key.proof({ htm: 'POST', htu: TOKEN_URL }) })
  if (res.status !== 200) throw new Error(JSON.stringify(res.body))
  return res.body.access_token
}

function dpopHeaders (token: string, proof: string | string[] | undefined): Record<string, string | undefined> {
  return { authorization: `DPoP ${token}`, ...(proof === undefined ? {} : { dpop: proof as string }) }
}

test('the token endpoint binds tokens to the proof key', async (t) => {
  const app = await buildMcp(t)
  const key = await proofKey()

  t.test('client_credentials with a proof: token_type DPoP, cnf.jkt, the row bound', async (t) => {
    const res = await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: BOOTSTRAP_BASIC, dpop: await key.proof({ htm: 'POST', htu: TOKEN_URL }) })
    t.equal(res.status, 200, JSON.stringify(res.body))
    t.equal(res.body.token_type, 'DPoP')
    const c = claims(res.body.access_token)
    t.same(c.cnf, { jkt: key.jkt })
    t.equal((await app.store.tokens.find(c.jti))?.jkt, key.jkt)
  })

  t.test('without a proof: a Bearer token, unbound', async (t) => {
    const res = await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: BOOTSTRAP_BASIC })
    t.equal(res.body.token_type, 'Bearer')
    t.equal(claims(res.body.access_token).cnf, undefined)
  })

  t.test('a bad proof is refused with invalid_dpop_proof, never ignored', async (t) => {
    const cases: Array<[string, Promise<string> | string]> = [
      ['for another URL', key.proof({ htm: 'POST', htu: `${BASE}/elsewhere` })],
      ['for another method', key.proof({ htm: 'GET', htu: TOKEN_URL })],
      ['too old', key.proof({ htm: 'POST', htu: TOKEN_URL, iat: now() - 120 })],
      ['not a JWS', 'garbage']
    ]
    for (const [name, proof] of cases) {
      const res = await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: BOOTSTRAP_BASIC, dpop: await proof })
      t.equal(res.status, 400, name)
      t.equal(res.body.error, 'invalid_dpop_proof', name)
    }
    const proof = await key.proof({ htm: 'POST', htu: TOKEN_URL })
    t.equal((await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: BOOTSTRAP_BASIC, dpop: proof })).status, 200)
    const replay = await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: BOOTSTRAP_BASIC, dpop: proof })
    t.equal(replay.body.error, 'invalid_dpop_proof', 'a replayed proof')
    t.match(replay.body.error_description, /already been used/)
  })

  t.test('an application with dpopBoundAccessTokens gets no token without a proof', async (t) => {
    const { clientSecret } = await app.store.applications.create({ owner: 'built-in', name: 'dpop-only', clientId: 'dpop-only', grantTypes: ['client_credentials'], scopes: ['demo:read'], dpopBoundAccessTokens: true })
    const auth = { authorization: basic('dpop-only', clientSecret ?? '') }
    const refused = await tokenRequest(app, { grant_type: 'client_credentials' }, auth)
    t.equal(refused.status, 400)
    t.equal(refused.body.error, 'invalid_dpop_proof')
    t.match(refused.body.error_description, /DPoP proof is required/)
    const bound = await tokenRequest(app, { grant_type: 'client_credentials' }, { ...auth, dpop: await key.proof({ htm: 'POST', htu: TOKEN_URL }) })
    t.equal(bound.status, 200)
    t.equal(bound.body.token_type, 'DPoP')
  })

  t.test("a public client's refresh token is bound: refreshing needs a proof by the same key", async (t) => {
    await app.store.applications.create({ owner: 'built-in', name: 'spa', clientId: 'spa-client', tokenEndpointAuthMethod: 'none', grantTypes: ['authorization_code', 'refresh_token'], redirectUris: ['http://127.0.0.1/cb'], scopes: ['demo:read'] })
    const issued = await app.tokens.issue({ subject: 'built-in/admin', subjectKind: 'user', clientId: 'spa-client', scopes: ['demo:read'], audience: BASE, issuer: BASE, refresh: true, ...dpopBinding(key.jkt, 'none') })
    t.equal(issued.token_type, 'DPoP')
    const refresh = issued.refresh_token ?? ''
    t.equal((await app.store.tokens.find(app.tokens.refreshTokenId(refresh)))?.jkt, key.jkt, 'the refresh row carries the key')
    const fields = { grant_type: 'refresh_token', refresh_token: refresh, client_id: 'spa-client' }

    const none = await tokenRequest(app, fields)
    t.equal(none.status, 400)
    t.equal(none.body.error, 'invalid_dpop_proof', 'no proof')
    const other = await proofKey()
    const wrongKey = await tokenRequest(app, fields, { dpop: await other.proof({ htm: 'POST', htu: TOKEN_URL }) })
    t.equal(wrongKey.body.error, 'invalid_dpop_proof', 'another key')
    t.match(wrongKey.body.error_description, /bound to/)

    const ok = await tokenRequest(app, fields, { dpop: await key.proof({ htm: 'POST', htu: TOKEN_URL }) })
    t.equal(ok.status, 200, 'the refused attempts did not use the refresh token up')
    t.equal(ok.body.token_type, 'DPoP')
    t.same(claims(ok.body.access_token).cnf, { jkt: key.jkt })
    t.equal((await app.store.tokens.find(app.tokens.refreshTokenId(ok.body.refresh_token)))?.jkt, key.jkt, 'the rotated refresh token stays bound')
  })

  t.test("a confidential client's refresh token is not bound (RFC 9449 §5)", async (t) => {
    const binding = dpopBinding(key.jkt, 'client_secret_basic')
    t.same(binding, { dpop: { jkt: key.jkt, bindRefresh: false } })
    const issued = await app.tokens.issue({ subject: 'built-in/admin', subjectKind: 'user', clientId: BOOTSTRAP_CLIENT.id, scopes: ['demo:read'], audience: BASE, issuer: BASE, refresh: true, ...binding })
    t.equal((await app.store.tokens.find(app.tokens.refreshTokenId(issued.refresh_token ?? '')))?.jkt, null)
  })
})

test('/api/mcp: a bound token only with a fresh proof by its key', async (t) => {
  const app = await buildMcp(t)
  const key = await proofKey()
  const token = await boundToken(app, key)
  const proof = async (over: Partial<Parameters<ProofKey['proof']>[0]> = {}, header?: Record<string, unknown>) =>
    await key.proof({ htm: 'POST', htu: MCP_URL, token, ...over }, header)

  t.test('the DPoP scheme with a valid proof is accepted, and again with a new proof', async (t) => {
    const res = await rpc(app, LIST, { headers: dpopHeaders(token, await proof()) })
    t.equal(res.statusCode, 200, res.body)
    t.ok(Array.isArray(res.json().result.tools))
    const again = await rpc(app, LIST, { headers: dpopHeaders(token, await proof()) })
    t.equal(again.statusCode, 200)
    const query = await app.inject({ method: 'POST', url: '/api/mcp?x=1', headers: { host: 'iam.test', 'content-type': 'application/json', accept: 'application/json', authorization: `DPoP ${token}`, dpop: await proof() }, payload: JSON.stringify(LIST) })
    t.equal(query.statusCode, 200, 'htu is compared without the query')
  })

  t.test('every bad proof is a 401 invalid_dpop_proof with a DPoP challenge', async (t) => {
    const other = await proofKey()
    const { privateKey: rsa } = await generateKeyPair('RS256', { extractable: true })
    const replayed = await proof()
    t.equal((await rpc(app, LIST, { headers: dpopHeaders(token, replayed) })).statusCode, 200)
    const cases: Array<[string, string | string[] | undefined, RegExp]> = [
      ['missing proof', undefined, /required/],
      ['replayed proof', replayed, /already been used/],
      ['another URL', await proof({ htu: `${BASE}/api/userinfo` }), /htu/],
      ['another host', await proof({ htu: 'http://evil.example/api/mcp' }), /htu/],
      ['another method', await proof({ htm: 'GET' }), /htm/],
      ['wrong ath', await proof({ token: `${token}x` }), /ath/],
      ['no ath', await key.proof({ htm: 'POST', htu: MCP_URL }), /ath/],
      ['too old', await proof({ iat: now() - 61 - 5 }), /too old/],
      ['from the future', await proof({ iat: now() + 61 + 5 }), /future/],
      ['another key than the token\'s', await other.proof({ htm: 'POST', htu: MCP_URL, token }), /not the key/],
      ['alg none', unsignedProof({ htm: 'POST', htu: MCP_URL, token }, key.jwk), /algorithm/],
      ['HS256', await hmacProof({ htm: 'POST', htu: MCP_URL, token }, key.jwk), /algorithm/],
      ['a private key in the header', await proof({}, { jwk: key.privateJwk }), /public key/],
      ['signed by a key other than its jwk', await signProof(rsa, { alg: 'RS256', typ: 'dpop+jwt', jwk: key.jwk }, { htm: 'POST', htu: MCP_URL, token }), /jwk|signature/],
      ['wrong typ', await proof({}, { typ: 'JWT' }), /typ/],
      ['two proofs', [await proof(), await proof()], /exactly one/],
      ['two proofs in one header', `${await proof()}, ${await proof()}`, /exactly one/]
    ]
    for (const [name, dpop, why] of cases) {
      const res = await rpc(app, LIST, { headers: dpopHeaders(token, dpop) })
      t.equal(res.statusCode, 401, name)
      t.same(res.json(), { jsonrpc: '2.0', id: 7, error: { code: -32001, message: 'Unauthorized', data: 'Unauthorized operation' } }, name)
      const challenge = String(res.headers['www-authenticate'])
      t.match(challenge, /^DPoP realm="\/\.well-known\/oauth-protected-resource", resource_metadata="http:\/\/iam\.test\/\.well-known\/oauth-protected-resource", scope="[^"]*", algs="ES256 RS256 PS256 EdDSA", error="invalid_dpop_proof", error_description="/, name)
      t.match(challenge, why, name)
    }
  })

  t.test('a bound token sent as Bearer is refused: the token alone proves nothing', async (t) => {
    const res = await rpc(app, LIST, { headers: { authorization: `Bearer ${token}` } })
    t.equal(res.statusCode, 401)
    t.match(res.headers['www-authenticate'], /^DPoP .*algs="ES256 RS256 PS256 EdDSA", error="invalid_token", error_description="this token is DPoP-bound/)
    const withProof = await rpc(app, LIST, { headers: { authorization: `Bearer ${token}`, dpop: await proof() } })
    t.equal(withProof.statusCode, 401, 'even with a proof beside it')
  })

  t.test('the DPoP scheme with an unbound token is refused (RFC 9449 §7.1)', async (t) => {
    const plain = (await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: BOOTSTRAP_BASIC })).body.access_token
    t.equal((await rpc(app, LIST, { headers: { authorization: `Bearer ${plain}` } })).statusCode, 200, 'Bearer tokens keep working')
    const res = await rpc(app, LIST, { headers: dpopHeaders(plain, await key.proof({ htm: 'POST', htu: MCP_URL, token: plain })) })
    t.equal(res.statusCode, 401)
    t.match(res.headers['www-authenticate'], /^DPoP .*error="invalid_token", error_description="the DPoP scheme needs a DPoP-bound token/)
  })

  t.test('a tampered or revoked bound token is invalid_token under the DPoP challenge', async (t) => {
    const res = await rpc(app, LIST, { headers: dpopHeaders('eyJhbGciOiJSUzI1NiJ9.e30.c2ln', await proof()) })
    t.equal(res.statusCode, 401)
    t.match(res.headers['www-authenticate'], /^DPoP .*error="invalid_token"/)
    const revokedToken = await boundToken(app, key)
    await app.store.tokens.revoke(claims(revokedToken).jti)
    const revoked = await rpc(app, LIST, { headers: dpopHeaders(revokedToken, await key.proof({ htm: 'POST', htu: MCP_URL, token: revokedToken })) })
    t.equal(revoked.statusCode, 401)
    t.match(revoked.headers['www-authenticate'], /revoked/)
  })

  t.test('a request without credentials still gets exactly the seed 401', async (t) => {
    const res = await rpc(app, LIST, { headers: { authorization: undefined } })
    t.equal(res.statusCode, 401)
    t.equal(res.headers['www-authenticate'], `Bearer realm="/.well-known/oauth-protected-resource", resource_metadata="${BASE}/.well-known/oauth-protected-resource", scope="demo:read demo:write other:read"`)
  })

  t.test('CORS lets a browser client send the DPoP header', async (t) => {
    const res = await app.inject({ method: 'OPTIONS', url: '/api/mcp', headers: { host: 'iam.test', origin: BASE, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, dpop, content-type' } })
    t.match(res.headers['access-control-allow-headers'], /\bDPoP\b/)
  })

  t.test('every algorithm on the list works', async (t) => {
    for (const alg of ['RS256', 'PS256', 'EdDSA'] as const) {
      const k = await proofKey(alg)
      const bound = await boundToken(app, k)
      const res = await rpc(app, LIST, { headers: dpopHeaders(bound, await k.proof({ htm: 'POST', htu: MCP_URL, token: bound })) })
      t.equal(res.statusCode, 200, alg)
    }
  })
})

test('introspection, userinfo and metadata know DPoP', async (t) => {
  const app = await buildMcp(t)
  const key = await proofKey()
  const token = await boundToken(app, key)

  t.test('introspection of a bound token: token_type DPoP and cnf (RFC 9449 §6.2)', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/login/oauth/introspect', headers: { authorization: BOOTSTRAP_BASIC, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ token }).toString() })
    t.match(res.json(), { active: true, token_type: 'DPoP', cnf: { jkt: key.jkt } })
  })

  t.test('userinfo: DPoP scheme with a proof; a bound token as Bearer is refused', async (t) => {
    const issued = await app.tokens.issue({ subject: 'built-in/admin', subjectKind: 'user', clientId: BOOTSTRAP_CLIENT.id, scopes: ['openid'], audience: BASE, issuer: BASE, ...dpopBinding(key.jkt, 'client_secret_basic') })
    const userToken = issued.access_token
    const url = `${BASE}/api/userinfo`
    const ok = await app.inject({ url: '/api/userinfo', headers: { host: 'iam.test', authorization: `DPoP ${userToken}`, dpop: await key.proof({ htm: 'GET', htu: url, token: userToken }) } })
    t.equal(ok.statusCode, 200, ok.body)
    t.equal(ok.json().sub, 'built-in/admin')
    const bearer = await app.inject({ url: '/api/userinfo', headers: { host: 'iam.test', authorization: `Bearer ${userToken}` } })
    t.equal(bearer.statusCode, 401)
    const noProof = await app.inject({ url: '/api/userinfo', headers: { host: 'iam.test', authorization: `DPoP ${userToken}` } })
    t.equal(noProof.statusCode, 401)
    t.equal(noProof.json().error, 'invalid_dpop_proof')
  })

  t.test('both documents advertise DPoP', async (t) => {
    const as = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json()
    t.same(as.dpop_signing_alg_values_supported, ['ES256', 'RS256', 'PS256', 'EdDSA'])
    for (const url of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/api/mcp']) {
      const pr = (await app.inject({ url })).json()
      t.equal(pr.dpop_bound_access_tokens_required, false, url)
      t.same(pr.dpop_signing_alg_values_supported, ['ES256', 'RS256', 'PS256', 'EdDSA'], url)
    }
  })
})
