import { test } from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { BOOTSTRAP_CLIENT, listen, type TestContext } from '../helper.js'
import { assertNoSecrets } from './context.js'

async function connect (t: TestContext, base: string, authorization: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/api/mcp`), { requestInit: { headers: { Authorization: authorization } } })
  const client = new Client({ name: 'iam-mcp-tool-tests', version: '1.0.0' })
  await client.connect(transport)
  t.teardown(() => client.close())
  return client
}

const basic = `Basic ${Buffer.from(`${BOOTSTRAP_CLIENT.id}:${BOOTSTRAP_CLIENT.secret}`).toString('base64')}`

test('every IAM tool through the official SDK client', async (t) => {
  const { app, base } = await listen(t)
  const client = await connect(t, base, basic)

  const { tools, nextCursor } = await client.listTools()
  t.equal(nextCursor, undefined, 'all tools fit on one page')
  t.equal(tools.length, app.tools.all.length, 'the bootstrap application (admin) sees every tool')
  for (const tool of tools) {
    t.match(tool, { name: /^[a-z_]+$/, title: /\S/, description: /^[\s\S]{20,}$/, inputSchema: { type: 'object' }, outputSchema: { type: 'object' } }, `${tool.name} is fully described`)
    const hints = tool.annotations ?? {}
    if (tool.name.startsWith('get_')) t.equal(hints.readOnlyHint, true, `${tool.name} is read-only`)
    if (tool.name.startsWith('delete_')) t.equal(hints.destructiveHint, true, `${tool.name} is destructive`)
  }

  const called = new Set<string>()
  async function call (name: string, args: Record<string, unknown> = {}): Promise<any> {
    called.add(name)
    const result = await client.callTool({ name, arguments: args })
    t.notOk(result.isError, `${name} succeeds`, { content: result.content })
    t.type(result.structuredContent, 'object', `${name} has structured content`)
    const text = (result.content as Array<{ text: string }>)[0]?.text ?? ''
    t.same(JSON.parse(text), result.structuredContent, `${name}: text and structured content agree`)
    assertNoSecrets(t as never, name, text)
    return result.structuredContent
  }

  const account = await call('get_account')
  t.match(account, { kind: 'application', id: 'built-in/app-built-in', role: 'global-admin', clientId: BOOTSTRAP_CLIENT.id })

  t.match(await call('add_organization', { name: 'acme', displayName: 'Acme' }), { organization: { id: 'admin/acme' } })
  t.ok((await call('get_organizations', { filter: 'acm' })).items.some((o: { name: string }) => o.name === 'acme'))
  t.match(await call('get_organization', { id: 'acme' }), { organization: { displayName: 'Acme' }, users: 0 })
  t.match(await call('update_organization', { id: 'admin/acme', websiteUrl: 'https://acme.test' }), { organization: { websiteUrl: 'https://acme.test' } })

  t.match(await call('add_user', { owner: 'acme', name: 'alice', password: 'alice-password', email: 'alice@acme.test' }), { user: { id: 'acme/alice', hasPassword: true } })
  t.same((await call('get_users', { owner: 'acme' })).items.map((u: { id: string }) => u.id), ['acme/alice'])
  t.match(await call('get_user', { id: 'acme/alice' }), { user: { email: 'alice@acme.test' }, roles: [] })
  t.match(await call('update_user', { id: 'acme/alice', displayName: 'Alice' }), { user: { displayName: 'Alice' } })

  const added = await call('add_application', { owner: 'acme', name: 'acme-portal', redirectUris: ['https://acme.test/cb'], grantTypes: ['authorization_code', 'refresh_token'], scopes: ['read'] })
  t.type(added.clientSecret, 'string')
  t.ok((await call('get_applications', { owner: 'acme' })).items.some((a: { id: string }) => a.id === 'acme/acme-portal'))
  t.match(await call('get_application', { id: 'acme/acme-portal' }), { application: { clientId: added.application.clientId } })
  t.match(await call('update_application', { id: 'acme/acme-portal', displayName: 'Portal' }), { application: { displayName: 'Portal' } })
  const rotated = await call('rotate_application_secret', { id: 'acme/acme-portal' })
  t.not(rotated.clientSecret, added.clientSecret)

  t.match(await call('add_role', { owner: 'acme', name: 'editor' }), { role: { id: 'acme/editor' } })
  t.equal((await call('get_roles', { owner: 'acme' })).items.length, 1)
  t.match(await call('update_role', { id: 'acme/editor', description: 'edits' }), { role: { description: 'edits' } })
  t.match(await call('assign_role', { user: 'acme/alice', role: 'acme/editor' }), { roles: ['acme/editor'] })
  t.match(await call('get_role', { id: 'acme/editor' }), { users: ['acme/alice'] })
  t.match(await call('unassign_role', { user: 'acme/alice', role: 'acme/editor' }), { roles: [] })

  t.match(await call('add_permission', { owner: 'acme', name: 'docs', roles: ['acme/editor'], actions: ['read'] }), { permission: { effect: 'allow' } })
  t.equal((await call('get_permissions', { owner: 'acme' })).items.length, 1)
  t.match(await call('get_permission', { id: 'acme/docs' }), { permission: { roles: ['acme/editor'] } })
  t.match(await call('update_permission', { id: 'acme/docs', effect: 'deny' }), { permission: { effect: 'deny' } })

  const jwk = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'idp-1' }
  t.match(await call('add_identity_provider', { owner: 'acme', name: 'okta', issuer: 'https://acme.okta.example', jwks: { keys: [jwk] } }), { identityProvider: { id: 'acme/okta', linkBy: 'email' } })
  t.equal((await call('get_identity_providers', { owner: 'acme' })).items.length, 1)
  t.match(await call('get_identity_provider', { id: 'acme/okta' }), { identityProvider: { issuer: 'https://acme.okta.example' } })
  t.match(await call('update_identity_provider', { id: 'acme/okta', provisionUsers: true }), { identityProvider: { provisionUsers: true } })
  t.match(await call('add_connection', { owner: 'acme', name: 'crm', audience: 'https://crm.example', resource: 'https://crm.example/mcp', scopes: ['crm:read'], targetClientId: 'acme-at-crm' }), { connection: { id: 'acme/crm' } })
  t.equal((await call('get_connections', { owner: 'acme' })).items.length, 1)
  t.match(await call('get_connection', { id: 'acme/crm' }), { connection: { scopes: ['crm:read'] } })
  t.match(await call('update_connection', { id: 'acme/crm', scopes: ['crm:read', 'crm:write'] }), { connection: { scopes: ['crm:read', 'crm:write'] } })
  t.match(await call('delete_connection', { id: 'acme/crm' }), { connection: { id: 'acme/crm' } })
  t.match(await call('delete_identity_provider', { id: 'acme/okta' }), { identityProvider: { id: 'acme/okta' } })

  const session = await app.store.sessions.create({ userId: 'acme/alice', userAgent: 'sdk-test', ip: '127.0.0.1', ttlSeconds: 600 })
  const issued = await app.tokens.issueDetailed({ subject: 'acme/alice', subjectKind: 'user', clientId: added.application.clientId, scopes: ['user:read'], audience: base, issuer: base, sessionId: session.id })
  const tokens = await call('get_tokens', { owner: 'acme' })
  t.ok(tokens.items.some((tk: { id: string }) => tk.id === issued.accessTokenId))
  t.notOk(JSON.stringify(tokens).includes(issued.response.access_token), 'token strings are never listed')
  t.match(await call('revoke_token', { id: issued.accessTokenId }), { revoked: true, token: { active: false } })
  const sessions = await call('get_sessions', { user: 'acme/alice' })
  t.equal(sessions.items.length, 1)
  t.match(await call('end_session', { id: sessions.items[0].id }), { session: { userId: 'acme/alice' } })

  const keys = await call('get_signing_keys')
  const { key } = await call('rotate_signing_key')
  t.not(key.kid, keys.items[0].kid)

  await app.audit.flush()
  const audit = await call('get_audit_events', { tool: 'add_user' })
  t.match(audit.items[0], { tool: 'add_user', principal: 'built-in/app-built-in', outcome: 'success', arguments: { owner: 'acme', name: 'alice' } })
  t.notOk(JSON.stringify(audit).includes('alice-password'), 'the audit log holds no password')

  t.match(await call('delete_permission', { id: 'acme/docs' }), { permission: { id: 'acme/docs' } })
  t.match(await call('delete_role', { id: 'acme/editor' }), { role: { id: 'acme/editor' } })
  t.match(await call('delete_application', { id: 'acme/acme-portal' }), { application: { id: 'acme/acme-portal' } })
  t.match(await call('delete_user', { id: 'acme/alice' }), { user: { id: 'acme/alice' } })
  await call('add_user', { owner: 'acme', name: 'bob' })
  t.match(await call('delete_organization', { id: 'acme', cascade: true }), { organization: { id: 'admin/acme' } })

  t.same([...called].sort(), tools.map(tool => tool.name).sort(), 'every listed tool was called')

  t.test('refusals come back as isError results with a clear message', async (t) => {
    const missing = await client.callTool({ name: 'get_user', arguments: { id: 'acme/nobody' } })
    t.equal(missing.isError, true)
    t.same(missing.content, [{ type: 'text', text: 'user "acme/nobody" not found' }])
    const badName = await client.callTool({ name: 'add_organization', arguments: { name: '../etc' } })
    t.equal(badName.isError, true)
    t.match((badName.content as Array<{ text: string }>)[0].text, /name/)
    const protectedApp = await client.callTool({ name: 'delete_application', arguments: { id: 'built-in/app-built-in' } })
    t.match(protectedApp, { isError: true, content: [{ text: /cannot be deleted/ }] })
  })

  t.test('an organization admin over a Bearer token reaches only its organization', async (t) => {
    await app.store.organizations.create({ name: 'beta' })
    await app.store.users.create({ owner: 'beta', name: 'boss', isAdmin: true })
    await app.store.users.create({ owner: 'beta', name: 'carol' })
    const token = await app.tokens.issue({ subject: 'beta/boss', subjectKind: 'user', clientId: BOOTSTRAP_CLIENT.id, scopes: ['user:read', 'user:write', 'account:read'], audience: base, issuer: base })
    const boss = await connect(t, base, `Bearer ${token.access_token}`)
    const listed = await boss.listTools()
    t.same(listed.tools.map(tool => tool.name).sort(), ['add_user', 'delete_user', 'get_account', 'get_user', 'get_users', 'update_user'], 'only the tools its scopes allow')
    t.match((await boss.callTool({ name: 'get_account', arguments: {} })).structuredContent, { id: 'beta/boss', role: 'organization-admin' })
    const users = (await boss.callTool({ name: 'get_users', arguments: {} })).structuredContent as { items: Array<{ id: string }> }
    t.same(users.items.map(u => u.id), ['beta/boss', 'beta/carol'])
    const admin = await boss.callTool({ name: 'get_user', arguments: { id: 'built-in/admin' } })
    t.match(admin, { isError: true, content: [{ text: 'user "built-in/admin" not found' }] })
    const escalate = await boss.callTool({ name: 'add_user', arguments: { owner: 'built-in', name: 'root', isAdmin: true } })
    t.match(escalate, { isError: true, content: [{ text: /own organization "beta"/ }] })
  })
})
