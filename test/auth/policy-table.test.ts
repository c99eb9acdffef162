import { test } from 'tap'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { ADMIN, BOOTSTRAP_CLIENT, listen } from '../helper.js'
import { Agent, authorizePath, authorizeThrough, basic, pkce, register, tokenRequest } from '../oauth/flow.js'

/*
 * DESIGN.md's rules on every path, as a table: each kind of principal, each way in, and what
 * it reaches (get_account's role and organization; add_user of a global admin in built-in).
 * Over real HTTP, on the general test database (SQLite, or PostgreSQL with TEST_DATABASE).
 */

const REDIRECT = 'http://127.0.0.1:9/callback'
const PASSWORD = 'table-password-1'

type Way = 'basic' | 'client_credentials' | 'bearer' | 'cookie'
interface Reach { role: string, organization: string, kind: 'user' | 'application', addsGlobalAdmin: boolean }
/** `reach` undefined: refused at the door (401 on /api/mcp, an OAuth error at the token endpoint). */
interface Row { principal: string, way: Way, headers: () => Promise<Record<string, string> | { refused: string }>, reach?: Reach }

test('principal × way in × what it reaches', async (t) => {
  const { app, base } = await listen(t)
  const { store } = app

  await store.organizations.create({ name: 'acme' })
  await store.users.create({ owner: 'acme', name: 'boss', password: PASSWORD, isAdmin: true })
  await store.users.create({ owner: 'acme', name: 'pat', password: PASSWORD })
  const secrets: Record<string, string> = {}
  const clientIds: Record<string, string> = {}
  async function application (name: string, input: { owner?: string, grantTypes: string[], isDisabled?: boolean, redirectUris?: string[] }): Promise<void> {
    const { application, clientSecret } = await store.applications.create({ owner: input.owner ?? 'acme', name, scopes: ['admin'], ...input })
    secrets[name] = clientSecret ?? ''
    clientIds[name] = application.clientId
  }
  await application('acme-service', { grantTypes: ['client_credentials'] })
  await application('acme-web', { grantTypes: ['authorization_code', 'refresh_token'], redirectUris: [REDIRECT] })
  await application('acme-disabled', { grantTypes: ['client_credentials'], isDisabled: true })
  await application('root-web', { owner: 'built-in', grantTypes: ['authorization_code'], redirectUris: [REDIRECT] })
  // A registered client, confidential, in built-in (REGISTRATION_ORGANIZATION): never acts for itself.
  const registered = await (await register(base, { client_name: 'Registered', redirect_uris: [REDIRECT] })).json() as { client_id: string, client_secret: string }

  async function mcp (headers: Record<string, string>, name: string, args: Record<string, unknown> = {}): Promise<{ status: number, body: Record<string, any> }> {
    const res = await fetch(`${base}/api/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } })
    })
    return { status: res.status, body: await res.json() as Record<string, any> }
  }

  async function cookie (username: string, organization: string): Promise<Record<string, string>> {
    const res = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, organization, password: username === ADMIN.username ? ADMIN.password : PASSWORD }) })
    if (res.status !== 200) throw new Error(`login of ${username} failed: ${res.status}`)
    const line = res.headers.getSetCookie().find(c => c.startsWith('iam_session='))
    return { cookie: (line ?? '').split(';')[0] }
  }

  async function clientCredentials (id: string, secret: string): Promise<Record<string, string> | { refused: string }> {
    const res = await tokenRequest(base, { grant_type: 'client_credentials' }, basic(id, secret))
    if (res.status !== 200) return { refused: `${res.status} ${res.body.error as string}` }
    return { authorization: `Bearer ${res.body.access_token as string}` }
  }

  /** A user's token through the authorization-code flow; the client authenticates with Basic when it has a secret. */
  async function userToken (clientId: string, secret: string | undefined, creds: { username: string, password: string, organization?: string }): Promise<Record<string, string>> {
    const { verifier, challenge } = pkce()
    const agent = new Agent(base)
    const location = await authorizeThrough(agent, authorizePath({
      response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: 'S256', scope: 'account:read user:write'
    }), { creds })
    const fields = { grant_type: 'authorization_code', code: location.searchParams.get('code') ?? '', code_verifier: verifier, redirect_uri: REDIRECT }
    const res = secret === undefined ? await tokenRequest(base, { ...fields, client_id: clientId }) : await tokenRequest(base, fields, basic(clientId, secret))
    if (res.status !== 200) throw new Error(`code exchange failed: ${res.status} ${JSON.stringify(res.body)}`)
    return { authorization: `Bearer ${res.body.access_token as string}` }
  }

  /** An application token minted directly, as if the grant had once let it through. */
  async function appToken (name: string, owner = 'acme', clientId = clientIds[name]): Promise<Record<string, string>> {
    const { access_token: token } = await app.tokens.issue({ subject: `${owner}/${name}`, subjectKind: 'application', clientId, scopes: [...app.tools.scopes], audience: base, issuer: base })
    return { authorization: `Bearer ${token}` }
  }

  const globalAdmin: Reach = { role: 'global-admin', organization: 'built-in', kind: 'user', addsGlobalAdmin: true }
  const acmeAdmin: Reach = { role: 'organization-admin', organization: 'acme', kind: 'user', addsGlobalAdmin: false }
  const plainUser: Reach = { role: 'user', organization: 'acme', kind: 'user', addsGlobalAdmin: false }
  const rootApp: Reach = { role: 'global-admin', organization: 'built-in', kind: 'application', addsGlobalAdmin: true }
  const acmeApp: Reach = { role: 'application', organization: 'acme', kind: 'application', addsGlobalAdmin: false }
  const registeredId = registered.client_id
  const registeredAppId = (await store.applications.findByClientId(registeredId))?.id ?? ''

  // A metadata-document client, stored as the resolver stores one, here even holding a secret and
  // the client_credentials grant: the policy, not its document, keeps it from acting for itself.
  const { application: documented, clientSecret: documentedSecret } = await store.applications.create({ owner: 'built-in', name: 'md-client-example-app', clientId: 'https://client.example/app.json', isMetadataDocument: true, grantTypes: ['client_credentials', 'authorization_code'], redirectUris: [REDIRECT], scopes: ['admin'] })
  // A service proving itself with a key (private_key_jwt): acts for itself like any service.
  const serviceKey = await generateKeyPair('ES256', { extractable: true })
  const { application: keyed } = await store.applications.create({ owner: 'acme', name: 'acme-keyed', tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [{ ...await exportJWK(serviceKey.publicKey), kid: 'k' }] }, grantTypes: ['client_credentials'], scopes: ['admin'] })
  const assertion = async (): Promise<string> => await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setIssuer(keyed.clientId).setSubject(keyed.clientId)
    .setAudience(base).setIssuedAt().setExpirationTime('2m').setJti(String(Math.random())).sign(serviceKey.privateKey)
  async function keyedToken (): Promise<Record<string, string> | { refused: string }> {
    const res = await tokenRequest(base, { grant_type: 'client_credentials', client_id: keyed.clientId, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await assertion() })
    if (res.status !== 200) return { refused: `${res.status} ${res.body.error as string}` }
    return { authorization: `Bearer ${res.body.access_token as string}` }
  }
  // A person vouched for by an enterprise identity provider (an ID-JAG through the JWT bearer grant).
  const idpKey = await generateKeyPair('ES256', { extractable: true })
  await store.identityProviders.create({ owner: 'acme', name: 'idp', issuer: 'https://idp.acme.example', jwks: { keys: [{ ...await exportJWK(idpKey.publicKey), kid: 'i' }] }, linkBy: 'subject' })
  await application('acme-agent', { grantTypes: ['urn:ietf:params:oauth:grant-type:jwt-bearer'] })
  async function vouchedToken (subject: string): Promise<Record<string, string>> {
    const jag = await new SignJWT({ client_id: clientIds['acme-agent'], resource: base, scope: 'account:read user:write' }).setProtectedHeader({ alg: 'ES256', kid: 'i', typ: 'oauth-id-jag+jwt' })
      .setIssuer('https://idp.acme.example').setSubject(subject).setAudience(base).setIssuedAt().setExpirationTime('5m').setJti(String(Math.random())).sign(idpKey.privateKey)
    const res = await tokenRequest(base, { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jag }, basic(clientIds['acme-agent'], secrets['acme-agent']))
    if (res.status !== 200) throw new Error(`jwt bearer grant failed: ${res.status} ${JSON.stringify(res.body)}`)
    return { authorization: `Bearer ${res.body.access_token as string}` }
  }

  const rows: Row[] = [
    // Users.
    { principal: 'global admin (session)', way: 'cookie', headers: () => cookie('admin', 'built-in'), reach: globalAdmin },
    { principal: 'organization admin (session)', way: 'cookie', headers: () => cookie('boss', 'acme'), reach: acmeAdmin },
    { principal: 'plain user (session)', way: 'cookie', headers: () => cookie('pat', 'acme'), reach: plainUser },
    { principal: 'global admin (token via a registered client)', way: 'bearer', headers: () => userToken(registeredId, registered.client_secret, { username: ADMIN.username, password: ADMIN.password }), reach: globalAdmin },
    { principal: 'global admin (token via a pre-registered web app)', way: 'bearer', headers: () => userToken(clientIds['root-web'], secrets['root-web'], { username: ADMIN.username, password: ADMIN.password }), reach: globalAdmin },
    { principal: 'organization admin (token)', way: 'bearer', headers: () => userToken(clientIds['acme-web'], secrets['acme-web'], { username: 'boss', password: PASSWORD, organization: 'acme' }), reach: acmeAdmin },
    { principal: 'plain user (token)', way: 'bearer', headers: () => userToken(registeredId, registered.client_secret, { username: 'pat', password: PASSWORD, organization: 'acme' }), reach: plainUser },
    { principal: 'organization admin (token bought with an identity provider\'s assertion)', way: 'bearer', headers: () => vouchedToken('boss'), reach: acmeAdmin },
    { principal: 'plain user (token bought with an identity provider\'s assertion)', way: 'bearer', headers: () => vouchedToken('pat'), reach: plainUser },
    // Applications acting for themselves with their own credentials.
    { principal: 'bootstrap application (client_credentials grant)', way: 'basic', headers: async () => basic(BOOTSTRAP_CLIENT.id, BOOTSTRAP_CLIENT.secret), reach: rootApp },
    { principal: 'bootstrap application (client_credentials grant)', way: 'client_credentials', headers: () => clientCredentials(BOOTSTRAP_CLIENT.id, BOOTSTRAP_CLIENT.secret), reach: rootApp },
    { principal: 'acme service (client_credentials grant)', way: 'basic', headers: async () => basic(clientIds['acme-service'], secrets['acme-service']), reach: acmeApp },
    { principal: 'acme service (client_credentials grant)', way: 'client_credentials', headers: () => clientCredentials(clientIds['acme-service'], secrets['acme-service']), reach: acmeApp },
    { principal: 'acme service proving itself with a key (private_key_jwt)', way: 'client_credentials', headers: () => keyedToken(), reach: acmeApp },
    { principal: 'acme service proving itself with a key (private_key_jwt)', way: 'basic', headers: async () => basic(keyed.clientId, 'it-has-no-secret') },
    // Clients that never act for themselves.
    { principal: 'metadata-document client', way: 'basic', headers: async () => basic(documented.clientId, documentedSecret ?? '') },
    { principal: 'metadata-document client', way: 'client_credentials', headers: () => clientCredentials(documented.clientId, documentedSecret ?? '') },
    { principal: 'metadata-document client', way: 'bearer', headers: () => appToken(documented.name, 'built-in', documented.clientId) },
    { principal: 'registered client', way: 'basic', headers: async () => basic(registeredId, registered.client_secret) },
    { principal: 'registered client', way: 'client_credentials', headers: () => clientCredentials(registeredId, registered.client_secret) },
    { principal: 'registered client', way: 'bearer', headers: () => appToken(registeredAppId.split('/')[1], 'built-in', registeredId) },
    { principal: 'application without the client_credentials grant', way: 'basic', headers: async () => basic(clientIds['acme-web'], secrets['acme-web']) },
    { principal: 'application without the client_credentials grant', way: 'client_credentials', headers: () => clientCredentials(clientIds['acme-web'], secrets['acme-web']) },
    { principal: 'application without the client_credentials grant', way: 'bearer', headers: () => appToken('acme-web') },
    { principal: 'disabled application', way: 'basic', headers: async () => basic(clientIds['acme-disabled'], secrets['acme-disabled']) },
    { principal: 'disabled application', way: 'client_credentials', headers: () => clientCredentials(clientIds['acme-disabled'], secrets['acme-disabled']) },
    { principal: 'disabled application', way: 'bearer', headers: () => appToken('acme-disabled') }
  ]

  let n = 0
  for (const row of rows) {
    await t.test(`${row.principal} × ${row.way}`, async (t) => {
      const headers = await row.headers()
      if ('refused' in headers) {
        t.equal(row.reach, undefined, `refused at the token endpoint: ${headers.refused}`)
        t.match(headers.refused, /^(400 unauthorized_client|401 invalid_client)$/)
        return
      }
      const account = await mcp(headers, 'get_account')
      if (row.reach === undefined) {
        t.equal(account.status, 401, 'refused on /api/mcp')
        t.equal(account.body.error?.code, -32001)
        return
      }
      t.equal(account.status, 200)
      t.match(account.body.result?.structuredContent, { kind: row.reach.kind, role: row.reach.role, organization: row.reach.organization })
      const added = await mcp(headers, 'add_user', { owner: 'built-in', name: `table-admin-${++n}`, password: PASSWORD, isAdmin: true })
      t.equal(added.status, 200)
      t.equal(added.body.result?.isError === true, !row.reach.addsGlobalAdmin, row.reach.addsGlobalAdmin ? 'creates a global admin' : 'may not create a global admin')
    })
  }

  await t.test('an application token stops when its application may no longer act for itself', async (t) => {
    const headers = await clientCredentials(clientIds['acme-service'], secrets['acme-service'])
    if ('refused' in headers) throw new Error(headers.refused)
    t.equal((await mcp(headers, 'get_account')).status, 200)
    await store.applications.update('acme/acme-service', { grantTypes: ['authorization_code'], redirectUris: [REDIRECT] })
    t.equal((await mcp(headers, 'get_account')).status, 401, 'its client_credentials grant was taken away')
    t.equal((await mcp(basic(clientIds['acme-service'], secrets['acme-service']), 'get_account')).status, 401, 'and Basic with it')
  })
})
