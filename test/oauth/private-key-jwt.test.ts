import { test } from 'tap'
import { SignJWT } from 'jose'
import { randomUUID } from 'node:crypto'
import { BOOTSTRAP_CLIENT, build } from '../helper.js'
import { clientKind } from '../../lib/auth/policy.js'
import { addMachine, assertion, CLIENT_ASSERTION_TYPE, hmacSigned, keyPair, keyServer, post, PUBLIC_URL, TOKEN_URL, tokenRequest, unsigned } from './pkjwt.js'

/*
 * private_key_jwt (RFC 7523 §2.2) at the token, introspection and revocation endpoints of a
 * real service on a real database: what is accepted, and every refusal with what it says.
 */

test('private_key_jwt client authentication', async (t) => {
  const app = await build(t, { env: { PUBLIC_URL, CLIENT_ID_METADATA_INSECURE: 'true' } })
  const key = await keyPair('k1')
  const clientId = await addMachine(app, 'machine', { jwks: { keys: [key.publicJwk] } })

  t.test('a signed assertion gets a token, at the issuer or the token endpoint as audience', async (t) => {
    for (const aud of [PUBLIC_URL, TOKEN_URL, [TOKEN_URL]]) {
      const res = await tokenRequest(app, await assertion(key, clientId, { aud }), { scope: 'user:read' })
      t.equal(res.statusCode, 200, `aud ${JSON.stringify(aud)}`)
      t.equal(res.json().scope, 'user:read')
      const whoami = await app.inject({ method: 'POST', url: '/api/mcp', headers: { authorization: `Bearer ${res.json().access_token}`, host: 'iam.internal', 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, payload: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_users', arguments: {} } } })
      t.equal(whoami.statusCode, 200, 'the token works on /api/mcp')
      t.notOk(whoami.json().result.isError, 'a tool its scope allows')
    }
    await app.audit.flush()
    const events = await app.store.audit.list({ principal: 'built-in/machine' })
    t.ok(events.items.length >= 3, 'its calls are audited')
    t.ok(events.items.every(e => e.clientId === clientId && e.clientKind === 'application'), 'naming the client and its kind')
    const withId = await tokenRequest(app, await assertion(key, clientId), { client_id: clientId })
    t.equal(withId.statusCode, 200, 'client_id in the body may be sent when it is the assertion\'s iss')
  })

  t.test('refusals name the problem', async (t) => {
    const now = Math.floor(Date.now() / 1000)
    const foreign = await keyPair('k1')
    const cases: Array<[string, Promise<string> | string, RegExp, Record<string, string>?]> = [
      ['expired', assertion(key, clientId, { iat: now - 600, exp: now - 300 }), /expired/],
      ['exp too far ahead', assertion(key, clientId, { exp: now + 3600 }), /too far ahead/],
      ['another audience', assertion(key, clientId, { aud: 'https://elsewhere.example' }), /another audience/],
      ['signed with none', unsigned(clientId), /algorithm "none" is not allowed/],
      ['HS256 keyed with the public key', hmacSigned(clientId, new TextEncoder().encode(JSON.stringify(key.publicJwk)), 'k1'), /algorithm "HS256" is not allowed/],
      ['HS256 keyed with anything', hmacSigned(clientId, new TextEncoder().encode('0123456789abcdef0123456789abcdef'), 'k1'), /algorithm "HS256" is not allowed/],
      ['a foreign key', assertion(foreign, clientId), /signature does not verify/],
      ['an unknown kid', assertion({ ...foreign, kid: 'nope' }, clientId), /no key of the client matches/],
      ['wrong sub', assertion(key, clientId, { sub: 'someone-else' }), /iss and sub must both be the client id/],
      ['iss of an unknown client', assertion(key, 'no-such-client'), /client authentication failed/],
      ['iss not the body client_id', assertion(key, clientId), /not the client_id sent/, { client_id: BOOTSTRAP_CLIENT.id }],
      ['no jti', assertion(key, clientId, { jti: undefined }), /jti/],
      ['iat in the future', assertion(key, clientId, { iat: now + 200 }), /iat is in the future/],
      ['nbf in the future', assertion(key, clientId, { nbf: now + 200 }), /not valid yet/],
      ['not a JWT', 'not-a-jwt', /not a well-formed signed JWT/]
    ]
    for (const [name, jwt, description, extra] of cases) {
      const res = await tokenRequest(app, await jwt, extra)
      t.equal(res.statusCode, 401, name)
      t.equal(res.json().error, 'invalid_client', name)
      t.match(res.json().error_description, description, name)
    }
    const wrongType = await post(app, '/api/login/oauth/access_token', { grant_type: 'client_credentials', client_assertion_type: 'urn:other', client_assertion: await assertion(key, clientId) })
    t.match(wrongType.json(), { error: 'invalid_client', error_description: /client_assertion_type must be/ })
  })

  t.test('an assertion is used once', async (t) => {
    const jwt = await assertion(key, clientId)
    t.equal((await tokenRequest(app, jwt)).statusCode, 200)
    const replay = await tokenRequest(app, jwt)
    t.equal(replay.statusCode, 401)
    t.match(replay.json(), { error: 'invalid_client', error_description: /already used/ })
    const sameJti = await tokenRequest(app, await assertion(key, clientId, { jti: JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()).jti }))
    t.match(sameJti.json(), { error: 'invalid_client', error_description: /already used/ }, 'a new assertion reusing the jti is a replay too')
  })

  t.test('one method only; a secret is refused for a private_key_jwt client', async (t) => {
    const jwt = await assertion(key, clientId)
    const basic = 'Basic ' + Buffer.from(`${BOOTSTRAP_CLIENT.id}:${BOOTSTRAP_CLIENT.secret}`).toString('base64')
    const mixedBasic = await tokenRequest(app, jwt)
    t.equal(mixedBasic.statusCode, 200, 'control: the assertion alone works')
    const both = await app.inject({ method: 'POST', url: '/api/login/oauth/access_token', headers: { authorization: basic }, payload: { grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await assertion(key, clientId) } })
    t.match(both.json(), { error: 'invalid_request', error_description: /one client authentication method/ }, 'Basic and an assertion')
    const withSecret = await tokenRequest(app, await assertion(key, clientId), { client_secret: 'anything' })
    t.match(withSecret.json(), { error: 'invalid_request', error_description: /one client authentication method/ }, 'a secret and an assertion')
    const secretOnly = await post(app, '/api/login/oauth/access_token', { grant_type: 'client_credentials', client_id: clientId, client_secret: 'guess' })
    t.equal(secretOnly.statusCode, 401)
    t.match(secretOnly.json(), { error: 'invalid_client', error_description: /private_key_jwt only/ })
    const idOnly = await post(app, '/api/login/oauth/access_token', { grant_type: 'client_credentials', client_id: clientId })
    t.match(idOnly.json(), { error: 'invalid_client', error_description: /private_key_jwt only/ }, 'nor can it pass as a public client')
    const secretClient = await tokenRequest(app, await assertion(key, BOOTSTRAP_CLIENT.id))
    t.match(secretClient.json(), { error: 'invalid_client', error_description: /does not authenticate with private_key_jwt/ }, 'a secret client cannot switch to assertions')
  })

  t.test('it has no secret, so no HTTP Basic on /api/mcp', async (t) => {
    const stored = await app.store.applications.findByClientId(clientId)
    t.equal(stored?.tokenEndpointAuthMethod, 'private_key_jwt')
    const res = await app.inject({ method: 'POST', url: '/api/mcp', headers: { authorization: 'Basic ' + Buffer.from(`${clientId}:`).toString('base64'), host: 'iam.internal', 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, payload: { jsonrpc: '2.0', id: 1, method: 'tools/list' } })
    t.equal(res.statusCode, 401, 'an empty secret is no secret')
  })

  t.test('a disabled client is refused', async (t) => {
    const id = await addMachine(app, 'machine-off', { jwks: { keys: [key.publicJwk] } })
    await app.store.applications.update('built-in/machine-off', { isDisabled: true })
    const res = await tokenRequest(app, await assertion(key, id))
    t.match(res.json(), { error: 'invalid_client', error_description: 'client authentication failed' })
  })

  t.test('stored key sets holding private or symmetric keys are refused at verification', async (t) => {
    const leaky = await keyPair('leaky')
    const { application } = await app.store.applications.create({ owner: 'built-in', name: 'leaky', grantTypes: ['client_credentials'], tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [{ ...leaky.publicJwk, d: 'AAAA' }] } })
    const res = await tokenRequest(app, await assertion(leaky, application.clientId))
    t.match(res.json(), { error: 'invalid_client', error_description: /private key material/ })
  })

  t.test('introspection and revocation accept private_key_jwt', async (t) => {
    const issued = (await tokenRequest(app, await assertion(key, clientId), { scope: 'user:read' })).json().access_token
    const introspect = (jwt: string) => post(app, '/api/login/oauth/introspect', { token: issued, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: jwt })
    const active = await introspect(await assertion(key, clientId, { aud: `${PUBLIC_URL}/api/login/oauth/introspect` }))
    t.equal(active.statusCode, 200)
    t.match(active.json(), { active: true, client_id: clientId })
    const issuerAud = await introspect(await assertion(key, clientId))
    t.match(issuerAud.json(), { active: true }, 'the issuer as audience works here too')
    const replayed = await introspect(await assertion(key, clientId, { jti: 'fixed-jti-introspect' }))
    t.equal(replayed.statusCode, 200)
    t.equal((await introspect(await assertion(key, clientId, { jti: 'fixed-jti-introspect' }))).statusCode, 401, 'replay refused at introspection')
    const foreign = await introspect(await assertion(await keyPair('k1'), clientId))
    t.equal(foreign.statusCode, 401)
    t.equal(foreign.json().error, 'invalid_client')

    const revoke = await post(app, '/api/login/oauth/revoke', { token: issued, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await assertion(key, clientId, { aud: `${PUBLIC_URL}/api/login/oauth/revoke` }) })
    t.equal(revoke.statusCode, 200)
    const after = await introspect(await assertion(key, clientId))
    t.match(after.json(), { active: false }, 'revoked')
    const badRevoke = await post(app, '/api/login/oauth/revoke', { token: issued, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: unsigned(clientId) })
    t.equal(badRevoke.statusCode, 401)
  })

  t.test('metadata lists the method and its algorithms', async (t) => {
    const metadata = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json()
    for (const field of ['token_endpoint_auth_methods_supported', 'introspection_endpoint_auth_methods_supported', 'revocation_endpoint_auth_methods_supported']) {
      t.ok(metadata[field].includes('private_key_jwt'), field)
    }
    for (const field of ['token_endpoint_auth_signing_alg_values_supported', 'introspection_endpoint_auth_signing_alg_values_supported', 'revocation_endpoint_auth_signing_alg_values_supported']) {
      t.same(metadata[field], ['RS256', 'PS256', 'ES256', 'EdDSA'], field)
    }
  })

  t.test('a jwks_uri is fetched, cached, and its failures refused', async (t) => {
    const remote = await keyPair('r1', 'RS256')
    const server = await keyServer(t, { keys: [remote.publicJwk] })
    const id = await addMachine(app, 'remote-machine', { jwksUri: server.url })
    t.equal((await tokenRequest(app, await assertion(remote, id))).statusCode, 200)
    t.equal((await tokenRequest(app, await assertion(remote, id))).statusCode, 200)
    t.equal(server.hits(), 1, 'fetched once, then cached')

    const refusals: Array<[string, Parameters<typeof server.serve>[0], RegExp]> = [
      ['over 5 KiB', { raw: JSON.stringify({ keys: [remote.publicJwk], pad: 'x'.repeat(6000) }) }, /larger than 5120 bytes/],
      ['a redirect', { status: 302, headers: { location: 'http://127.0.0.1/other' }, raw: '' }, /redirects are not followed/],
      ['a private key in the set', { body: { keys: [{ ...remote.publicJwk, d: 'x' }] } }, /private key material/],
      ['a symmetric key in the set', { body: { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'r1' }] } }, /symmetric/]
    ]
    for (const [name, answer, description] of refusals) {
      server.serve(answer)
      const fresh = await addMachine(app, `remote-${randomUUID().slice(0, 8)}`, { jwksUri: `${server.url}?${randomUUID()}` })
      const res = await tokenRequest(app, await assertion(remote, fresh))
      t.equal(res.statusCode, 401, name)
      t.match(res.json(), { error: 'invalid_client', error_description: description }, name)
    }
    server.serve({ silent: true })
    const silentClient = await addMachine(app, 'remote-silent', { jwksUri: `${server.url}?silent` })
    const silent = await tokenRequest(app, await assertion(remote, silentClient))
    t.match(silent.json(), { error: 'invalid_client', error_description: /did not arrive within/ }, 'a silent host')
  })

  t.test('server/discover names the client credentials extension', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/mcp', headers: { host: 'iam.internal', 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: 'Basic ' + Buffer.from(`${BOOTSTRAP_CLIENT.id}:${BOOTSTRAP_CLIENT.secret}`).toString('base64') }, payload: { jsonrpc: '2.0', id: 1, method: 'server/discover' } })
    t.equal(res.statusCode, 200)
    t.match(res.json().result.capabilities.extensions, { 'io.modelcontextprotocol/oauth-client-credentials': {} })
  })
})

test('without the development switch, a jwks_uri on a non-public address is not fetched', async (t) => {
  const app = await build(t, { env: { PUBLIC_URL } })
  const key = await keyPair('k1')
  const server = await keyServer(t, { keys: [key.publicJwk] })
  const port = new URL(server.url).port
  const cases: Array<[string, string, RegExp]> = [
    ['plain http', server.url, /only https/],
    ['a loopback literal', `https://127.0.0.1:${port}/jwks.json`, /non-public address/],
    ['a name resolving to loopback', `https://localhost:${port}/jwks.json`, /does not resolve to a public address/]
  ]
  for (const [name, uri, description] of cases) {
    const id = await addMachine(app, `m-${randomUUID().slice(0, 8)}`, { jwksUri: uri })
    const res = await tokenRequest(app, await assertion(key, id))
    t.equal(res.statusCode, 401, name)
    t.match(res.json(), { error: 'invalid_client', error_description: description }, name)
  }
  t.equal(server.hits(), 0, 'nothing reached the loopback server')
  // A valid signature by a key the client does not hold: still refused (keeps SignJWT honest).
  const stray = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).sign(key.privateKey)
  t.equal((await tokenRequest(app, stray)).statusCode, 401)
})

test('the audit log\'s client kinds', async (t) => {
  t.equal(clientKind({ isDynamic: false, isMetadataDocument: false }), 'application')
  t.equal(clientKind({ isDynamic: true, isMetadataDocument: false }), 'dynamic')
  t.equal(clientKind({ isDynamic: false, isMetadataDocument: true }), 'metadata-document')
})
