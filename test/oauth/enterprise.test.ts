import { test } from 'tap'
import { generateKeyPair, exportJWK, SignJWT } from 'jose'
import { Client, CrossAppAccessProvider, StreamableHTTPClientTransport, discoverAndRequestJwtAuthGrant } from '@modelcontextprotocol/client'
import { BOOTSTRAP_CLIENT, build, listen, testDatabaseUrl, type TestContext } from '../helper.js'
import { Agent, authorizePath, authorizeThrough, basic, decodeJwt, pkce, tokenRequest } from './flow.js'

/*
 * Enterprise-managed authorization with two instances of this service, set up only through
 * their tools: `idp` is the enterprise's identity provider (it signs its people in and issues
 * identity assertions), `as` is the MCP server's authorization server (it trusts `idp` and
 * trades its assertions for access tokens).
 */

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token'
const ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag'
const REDIRECT = 'http://127.0.0.1:9/callback'

/** A tool call over HTTP, as the bootstrap application acting for itself. */
async function tool (base: string, name: string, args: Record<string, unknown>): Promise<any> {
  const res = await fetch(`${base}/api/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...basic(BOOTSTRAP_CLIENT.id, BOOTSTRAP_CLIENT.secret) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } })
  })
  const body = await res.json() as any
  if (body.result?.isError === true || body.error !== undefined) throw new Error(`${name}: ${JSON.stringify(body)}`)
  return body.result.structuredContent
}

interface World {
  idp: { base: string, app: Awaited<ReturnType<typeof listen>>['app'] }
  as: { base: string, app: Awaited<ReturnType<typeof listen>>['app'] }
  /** The agent's credentials at each side. */
  atIdp: { clientId: string, clientSecret: string }
  atAs: { clientId: string, clientSecret: string }
  /** An ID token `idp` issued to the agent for alice. */
  idToken: () => Promise<string>
}

async function world (t: TestContext): Promise<World> {
  const env = { RATE_LIMIT_MCP_MAX: '10000', CLIENT_ID_METADATA_INSECURE: 'true' }
  const idp = await listen(t, { env })
  const as = await listen(t, { env })

  // The MCP server's side: the organization, its user, the agent's application, and trust in the IdP.
  await tool(as.base, 'add_organization', { name: 'corp' })
  await tool(as.base, 'add_user', { owner: 'corp', name: 'alice', email: 'alice@corp.example' })
  const agentAtAs = await tool(as.base, 'add_application', { owner: 'corp', name: 'agent', grantTypes: [JWT_BEARER], scopes: ['user:read', 'account:read', 'organization:read'] })
  const atAs = { clientId: agentAtAs.application.clientId, clientSecret: agentAtAs.clientSecret }
  await tool(as.base, 'add_identity_provider', { owner: 'corp', name: 'idp', issuer: idp.base, jwksUri: `${idp.base}/.well-known/jwks`, linkBy: 'email' })

  // The enterprise's side: its people, the agent's application there, and the connection.
  await tool(idp.base, 'add_organization', { name: 'corp' })
  await tool(idp.base, 'add_user', { owner: 'corp', name: 'alice', email: 'alice@corp.example', password: 'alice-password-1' })
  const agentAtIdp = await tool(idp.base, 'add_application', { owner: 'corp', name: 'agent', grantTypes: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE], redirectUris: [REDIRECT], scopes: ['openid', 'email'] })
  const atIdp = { clientId: agentAtIdp.application.clientId, clientSecret: agentAtIdp.clientSecret }
  await tool(idp.base, 'add_connection', { owner: 'corp', name: 'mcp', audience: as.base, resource: as.base, scopes: ['user:read', 'account:read'], targetClientId: atAs.clientId })

  async function idToken (): Promise<string> {
    const { verifier, challenge } = pkce()
    const agent = new Agent(idp.base)
    const back = await authorizeThrough(agent, authorizePath({ response_type: 'code', client_id: atIdp.clientId, redirect_uri: REDIRECT, scope: 'openid email', code_challenge: challenge, code_challenge_method: 'S256', state: 's' }), { creds: { username: 'alice', password: 'alice-password-1', organization: 'corp' } })
    const { body } = await tokenRequest(idp.base, { grant_type: 'authorization_code', code: back.searchParams.get('code') ?? '', redirect_uri: REDIRECT, code_verifier: verifier }, basic(atIdp.clientId, atIdp.clientSecret))
    return body.id_token as string
  }
  return { idp, as, atIdp, atAs, idToken }
}

test('the SDK v2 CrossAppAccessProvider reaches the MCP server as the linked user, with the allowed scopes', async (t) => {
  const w = await world(t)
  const idToken = await w.idToken()
  const exchanges: string[] = []
  const provider = new CrossAppAccessProvider({
    clientId: w.atAs.clientId,
    clientSecret: w.atAs.clientSecret,
    assertion: async (ctx) => {
      exchanges.push(ctx.resourceUrl.toString())
      const result = await discoverAndRequestJwtAuthGrant({ idpUrl: w.idp.base, audience: ctx.authorizationServerUrl, resource: ctx.resourceUrl, idToken, clientId: w.atIdp.clientId, clientSecret: w.atIdp.clientSecret, scope: ctx.scope, fetchFn: ctx.fetchFn })
      return result.jwtAuthGrant
    }
  })
  const client = new Client({ name: 'cross-app', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(`${w.as.base}/api/mcp`), { authProvider: provider }))
  t.teardown(() => client.close())
  const account = await client.callTool({ name: 'get_account', arguments: {} })
  const content = account.structuredContent as any
  t.match(content, { kind: 'user', id: 'corp/alice', organization: 'corp' }, 'the linked user')
  t.same(content.scopes, ['account:read', 'user:read'], 'the connection\'s scopes ∩ the client\'s: organization:read was not in the connection')
  t.equal(exchanges.length, 1, 'one assertion, from a bare 401')
  const tools = await client.listTools()
  t.same(tools.tools.map(x => x.name).sort(), ['get_account', 'get_user', 'get_users'].sort(), 'tools/list shows what those scopes reach')

  // The call's audit event names the provider and the person's subject there (written behind, within 100 ms).
  let events: any[] = []
  for (let i = 0; i < 40 && events.length === 0; i++) {
    await new Promise(resolve => setTimeout(resolve, 50))
    events = (await tool(w.as.base, 'get_audit_events', { tool: 'get_account', principal: 'corp/alice' })).items
  }
  t.match(events[0], { principal: 'corp/alice', provider: 'corp/idp', externalSubject: 'corp/alice', clientId: w.atAs.clientId, clientKind: 'application' }, 'the audit event names the provider and the external subject')
})

test('refusals, as the MCP server\'s authorization server and as the identity provider', async (t) => {
  const w = await world(t)
  const idToken = await w.idToken()
  const exchange = async (fields: Record<string, string> = {}, client = w.atIdp) => await tokenRequest(w.idp.base, {
    grant_type: TOKEN_EXCHANGE, subject_token: idToken, subject_token_type: ID_TOKEN, requested_token_type: ID_JAG, audience: w.as.base, resource: w.as.base, ...fields
  }, basic(client.clientId, client.clientSecret))
  const bearer = async (assertion: string, client = w.atAs, fields: Record<string, string> = {}) => await tokenRequest(w.as.base, { grant_type: JWT_BEARER, assertion, ...fields }, basic(client.clientId, client.clientSecret))

  const issued = await exchange()
  t.equal(issued.status, 200)
  t.match(issued.body, { issued_token_type: ID_JAG, token_type: 'N_A', scope: 'account:read user:read' })
  const jag = issued.body.access_token as string
  t.match(decodeJwt(jag), { iss: w.idp.base, sub: 'corp/alice', aud: w.as.base, resource: w.as.base, client_id: w.atAs.clientId, email: 'alice@corp.example' })
  t.equal(JSON.parse(Buffer.from(jag.split('.')[0], 'base64url').toString()).typ, 'oauth-id-jag+jwt')

  t.test('the identity provider narrows and refuses', async (t) => {
    t.equal((await exchange({ scope: 'user:read user:write' })).body.scope, 'user:read', 'a wider request is narrowed')
    t.match((await exchange({ scope: 'user:write' })).body, { error: 'invalid_scope' })
    t.match((await exchange({ audience: 'https://elsewhere.example' })).body, { error: 'invalid_target' }, 'a target without a connection')
    t.match((await exchange({ subject_token: jag })).body, { error: 'invalid_grant' }, 'an ID-JAG is not an ID token')
    const stranger = await tool(w.idp.base, 'add_application', { owner: 'corp', name: 'stranger', grantTypes: [TOKEN_EXCHANGE], scopes: ['openid'] })
    t.match((await exchange({}, { clientId: stranger.application.clientId, clientSecret: stranger.clientSecret })).body, { error: 'invalid_grant', error_description: /another client/ }, 'an ID token issued to another client')
    t.match((await exchange({ requested_token_type: 'urn:ietf:params:oauth:token-type:access_token' })).body, { error: 'invalid_request' })
  })

  t.test('the authorization server refuses', async (t) => {
    // Its own ID-JAG, signed with its own keys, naming itself as issuer: never accepted here.
    const now = Math.floor(Date.now() / 1000)
    const own = w.as.app.signingKeys.signIdJag({ iss: w.as.base, sub: 'corp/alice', aud: w.as.base, resource: w.as.base, client_id: w.atAs.clientId, jti: 'own', iat: now, exp: now + 300, scope: 'user:read', email: 'alice@corp.example' })
    t.match((await bearer(own)).body, { error: 'invalid_grant', error_description: /its own identity assertions/ }, 'the service\'s own ID-JAG')
    const { status: s1, body: first } = await bearer(jag)
    t.equal(s1, 200, 'the first use works')
    t.equal(first.token_type, 'Bearer')
    t.equal(first.refresh_token, undefined, 'no refresh token')
    t.match(decodeJwt(first.access_token), { sub: 'corp/alice', idp: 'corp/idp', idp_sub: 'corp/alice' })
    t.match((await bearer(jag)).body, { error: 'invalid_grant', error_description: /already used/ }, 'a replayed ID-JAG')

    const fresh = async (fields: Record<string, string> = {}) => (await exchange(fields)).body.access_token as string
    const other = await tool(w.as.base, 'add_application', { owner: 'corp', name: 'other-agent', grantTypes: [JWT_BEARER], scopes: ['user:read'] })
    t.match((await bearer(await fresh(), { clientId: other.application.clientId, clientSecret: other.clientSecret })).body, { error: 'invalid_grant', error_description: /another client/ }, 'client_id is not the authenticated client')
    t.match((await tokenRequest(w.as.base, { grant_type: JWT_BEARER, assertion: await fresh(), client_id: w.atAs.clientId })).body, { error: 'invalid_client' }, 'an unauthenticated client')

    // Forged ones: signed by an unknown key, with typ missing, for the wrong audience or resource.
    const { privateKey } = await generateKeyPair('ES256')
    const forge = async (claims: Record<string, unknown>, typ: string | null = 'oauth-id-jag+jwt') => await new SignJWT({ sub: 'corp/alice', client_id: w.atAs.clientId, resource: `${w.as.base}/api/mcp`, scope: 'user:read', email: 'alice@corp.example', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'nope', ...(typ === null ? {} : { typ }) }).setIssuer(w.idp.base).setAudience(w.as.base).setIssuedAt().setExpirationTime('5m').setJti(String(Math.random())).sign(privateKey)
    t.match((await bearer(await forge({}))).body, { error: 'invalid_grant', error_description: /not signed by a key/ }, 'an unknown key')
    t.match((await bearer(await forge({}, null))).body, { error: 'invalid_grant', error_description: /typ/ }, 'typ missing')
    // A provider whose keys the test holds: an assertion living longer than 10 minutes is refused.
    const held = await generateKeyPair('ES256', { extractable: true })
    await tool(w.as.base, 'add_identity_provider', { owner: 'corp', name: 'test-keys', issuer: 'https://test-keys.example', jwks: { keys: [{ ...await exportJWK(held.publicKey), kid: 'held' }] } })
    const signed = async (lifetime: string) => await new SignJWT({ sub: 'corp/alice', client_id: w.atAs.clientId, resource: w.as.base, scope: 'user:read', email: 'alice@corp.example' })
      .setProtectedHeader({ alg: 'ES256', kid: 'held', typ: 'oauth-id-jag+jwt' }).setIssuer('https://test-keys.example').setAudience(w.as.base).setIssuedAt().setExpirationTime(lifetime).setJti(String(Math.random())).sign(held.privateKey)
    t.match((await bearer(await signed('20m'))).body, { error: 'invalid_grant', error_description: /longer than 10 minutes/ }, 'a long-lived assertion')
    t.equal((await bearer(await signed('5m'))).status, 200, 'the same provider\'s short-lived one works')
    const hs = await new SignJWT({ sub: 'corp/alice', client_id: w.atAs.clientId, resource: w.as.base }).setProtectedHeader({ alg: 'HS256', typ: 'oauth-id-jag+jwt' }).setIssuer('https://test-keys.example').setAudience(w.as.base).setIssuedAt().setExpirationTime('5m').setJti('hs').sign(new TextEncoder().encode('a-shared-secret-of-32-bytes-long!'))
    t.match((await bearer(hs)).body, { error: 'invalid_grant' }, 'HS256 is never accepted')

    const wrongAud = await tool(w.idp.base, 'add_connection', { owner: 'corp', name: 'wrong-aud', audience: 'https://not-this.example', resource: `${w.as.base}/api/mcp`, scopes: ['user:read'], targetClientId: w.atAs.clientId })
    t.ok(wrongAud)
    t.match((await bearer(await fresh({ audience: 'https://not-this.example', resource: `${w.as.base}/api/mcp` }))).body, { error: 'invalid_grant', error_description: /aud/ }, 'the wrong audience')
    const wrongResource = await tool(w.idp.base, 'add_connection', { owner: 'corp', name: 'wrong-res', audience: w.as.base, resource: 'https://other-mcp.example/mcp', scopes: ['user:read'], targetClientId: w.atAs.clientId })
    t.ok(wrongResource)
    t.match((await bearer(await fresh({ resource: 'https://other-mcp.example/mcp' }))).body, { error: 'invalid_target' }, 'the wrong resource')

    // An unlinked user without provisioning, then with it.
    await tool(w.idp.base, 'add_user', { owner: 'corp', name: 'bob', email: 'bob@corp.example', password: 'bob-password-12' })
    const bobToken = await (async () => {
      const { verifier, challenge } = pkce()
      const agent = new Agent(w.idp.base)
      const back = await authorizeThrough(agent, authorizePath({ response_type: 'code', client_id: w.atIdp.clientId, redirect_uri: REDIRECT, scope: 'openid email', code_challenge: challenge, code_challenge_method: 'S256', state: 's' }), { creds: { username: 'bob', password: 'bob-password-12', organization: 'corp' } })
      return (await tokenRequest(w.idp.base, { grant_type: 'authorization_code', code: back.searchParams.get('code') ?? '', redirect_uri: REDIRECT, code_verifier: verifier }, basic(w.atIdp.clientId, w.atIdp.clientSecret))).body.id_token as string
    })()
    const bobJag = async () => (await exchange({ subject_token: bobToken })).body.access_token as string
    t.match((await bearer(await bobJag())).body, { error: 'invalid_grant', error_description: /no user of the organization is linked/ }, 'an unlinked user without provisioning')
    await tool(w.as.base, 'update_identity_provider', { id: 'corp/idp', provisionUsers: true })
    const provisioned = await bearer(await bobJag())
    t.equal(provisioned.status, 200, 'with provisioning the user is created')
    t.equal(decodeJwt(provisioned.body.access_token).sub, 'corp/bob@corp.example')

    // A disabled provider: refused, and what it bought stops working.
    const { body: live } = await bearer(await fresh())
    const mcp = async (token: string) => (await fetch(`${w.as.base}/api/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) })).status
    t.equal(await mcp(live.access_token), 200)
    await tool(w.as.base, 'update_identity_provider', { id: 'corp/idp', isDisabled: true })
    t.equal(await mcp(live.access_token), 401, 'its tokens stop working')
    t.match((await bearer(await fresh())).body, { error: 'invalid_grant', error_description: /disabled/ }, 'a disabled provider')
  })
})

test('two instances on one database: an ID-JAG used at one is refused at the other', async (t) => {
  const DATABASE_URL = await testDatabaseUrl(t)
  const PUBLIC_URL = 'http://as.internal'
  const one = await build(t, { env: { DATABASE_URL, PUBLIC_URL } })
  const two = await build(t, { env: { DATABASE_URL, PUBLIC_URL } })
  const held = await generateKeyPair('ES256', { extractable: true })
  await one.store.organizations.create({ name: 'corp' })
  await one.store.users.create({ owner: 'corp', name: 'alice', email: 'alice@corp.example' })
  const { application, clientSecret } = await one.store.applications.create({ owner: 'corp', name: 'agent', grantTypes: [JWT_BEARER], scopes: ['user:read'] })
  await one.store.identityProviders.create({ owner: 'corp', name: 'idp', issuer: 'https://idp.example', jwks: { keys: [{ ...await exportJWK(held.publicKey), kid: 'k' }] } })
  const jag = await new SignJWT({ sub: 'x', client_id: application.clientId, resource: PUBLIC_URL, scope: 'user:read', email: 'alice@corp.example' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k', typ: 'oauth-id-jag+jwt' }).setIssuer('https://idp.example').setAudience(PUBLIC_URL).setIssuedAt().setExpirationTime('5m').setJti('once').sign(held.privateKey)
  const present = async (app: typeof one) => await app.inject({ method: 'POST', url: '/api/login/oauth/access_token', headers: { host: 'as.internal', ...basic(application.clientId, clientSecret ?? '') }, payload: { grant_type: JWT_BEARER, assertion: jag } })
  const [first, second] = [await present(one), await present(two)]
  t.equal(first.statusCode, 200, 'accepted at the first instance')
  t.equal(second.statusCode, 400)
  t.match(second.json(), { error: 'invalid_grant', error_description: /already used/ }, 'refused at the second')

  // Disabling the provider at one instance ends what it bought at the other within a second.
  const token = first.json().access_token as string
  const list = async (app: typeof one) => (await app.inject({ method: 'POST', url: '/api/mcp', headers: { host: 'as.internal', authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' }, payload: { jsonrpc: '2.0', id: 1, method: 'tools/list' } })).statusCode
  t.equal(await list(two), 200)
  await one.store.identityProviders.update('corp/idp', { isDisabled: true })
  let status = await list(two)
  for (let i = 0; i < 40 && status !== 401; i++) {
    await new Promise(resolve => setTimeout(resolve, 25))
    status = await list(two)
  }
  t.equal(status, 401, 'refused at the other instance within a second')
})
