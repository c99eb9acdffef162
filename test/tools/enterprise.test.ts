import { test } from 'tap'
import { generateKeyPair, exportJWK } from 'jose'
import { build } from '../helper.js'
import { expectError, expectOk, seed } from './context.js'

test('identity provider and connection tools', async (t) => {
  const app = await build(t)
  const who = await seed(t, app)
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = { ...await exportJWK(publicKey), kid: 'k1' }

  t.test('identity providers: add, get, list, update, delete, reach', async (t) => {
    const { identityProvider } = await expectOk(t, app, 'add_identity_provider', { owner: 'acme', name: 'okta', issuer: 'https://acme.okta.example', jwksUri: 'https://acme.okta.example/keys', linkBy: 'email' }, who.orgAdmin)
    t.match(identityProvider, { id: 'acme/okta', owner: 'acme', issuer: 'https://acme.okta.example', jwksUri: 'https://acme.okta.example/keys', linkBy: 'email', provisionUsers: false, isDisabled: false })
    t.notOk('jwks' in identityProvider)
    await expectOk(t, app, 'add_identity_provider', { owner: 'other', name: 'idp', issuer: 'https://other.example', jwks: { keys: [jwk] }, linkBy: 'subject', provisionUsers: true }, who.otherAdmin)

    await expectError(t, app, 'add_identity_provider', { owner: 'acme', name: 'dup', issuer: 'https://acme.okta.example', jwksUri: 'https://x.example/k' }, who.global, /already exists/)
    await expectError(t, app, 'add_identity_provider', { owner: 'acme', name: 'none', issuer: 'https://n.example' }, who.global, /exactly one of jwks/)
    await expectError(t, app, 'add_identity_provider', { owner: 'acme', name: 'both', issuer: 'https://b.example', jwksUri: 'https://b.example/k', jwks: { keys: [jwk] } }, who.global, /exactly one of jwks/)
    const privateJwk = await exportJWK(privateKey)
    await expectError(t, app, 'add_identity_provider', { owner: 'acme', name: 'priv', issuer: 'https://p.example', jwks: { keys: [privateJwk] } }, who.global, /private key material/)
    await expectError(t, app, 'add_identity_provider', { owner: 'acme', name: 'sym', issuer: 'https://s.example', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }, who.global, /symmetric/)
    await expectError(t, app, 'add_identity_provider', { owner: 'acme', name: 'junk', issuer: 'https://j.example', jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'BB' }] } }, who.global, /cannot be imported/)
    await expectError(t, app, 'add_identity_provider', { owner: 'acme', name: 'q', issuer: 'https://q.example/?x=1', jwksUri: 'https://q.example/k' }, who.global, /issuer/)
    await expectError(t, app, 'add_identity_provider', { owner: 'other', name: 'x', issuer: 'https://x.example', jwksUri: 'https://x.example/k' }, who.orgAdmin, /own organization/)
    await expectError(t, app, 'add_identity_provider', { owner: 'acme', name: 'x', issuer: 'https://x.example', jwksUri: 'https://x.example/k' }, who.alice, /only an administrator/)

    await expectOk(t, app, 'get_identity_provider', { id: 'acme/okta' }, who.acmeApp)
    await expectError(t, app, 'get_identity_provider', { id: 'other/idp' }, who.orgAdmin, /identity provider "other\/idp" not found/)
    await expectError(t, app, 'get_identity_provider', { id: 'acme/okta' }, who.alice, /not found/)
    t.same((await expectOk(t, app, 'get_identity_providers', {}, who.orgAdmin)).items.map((p: { id: string }) => p.id), ['acme/okta'])
    t.same((await expectOk(t, app, 'get_identity_providers', { filter: 'OTHER.EXAMPLE' }, who.global)).items.map((p: { id: string }) => p.id), ['other/idp'], 'filter matches the issuer')
    t.same((await expectOk(t, app, 'get_identity_providers', {}, who.alice)).items, [])

    const { identityProvider: inline } = await expectOk(t, app, 'update_identity_provider', { id: 'acme/okta', jwks: { keys: [jwk] }, provisionUsers: true }, who.orgAdmin)
    t.same(inline.jwks, { keys: [jwk] })
    t.notOk('jwksUri' in inline, 'inline keys replace the URL')
    await expectError(t, app, 'update_identity_provider', { id: 'acme/okta' }, who.orgAdmin, /nothing to change/)
    await expectError(t, app, 'update_identity_provider', { id: 'other/idp', isDisabled: true }, who.orgAdmin, /not found/)

    // Tokens bought through a provider end when it is disabled, and when it is deleted.
    const store = app.store
    const token = (id: string, providerId: string) => store.tokens.insert({ id, kind: 'access', subject: 'acme/alice', subjectKind: 'user', clientId: 'c', scope: 'user:read', audience: 'x', familyId: null, sessionId: null, codeId: null, providerId, expiresAt: Date.now() + 60_000 })
    await token('via-okta', 'acme/okta')
    await token('via-other', 'other/idp')
    await expectOk(t, app, 'update_identity_provider', { id: 'acme/okta', displayName: 'Okta' }, who.orgAdmin)
    t.equal((await store.tokens.find('via-okta'))?.revokedAt, null, 'an unrelated change revokes nothing')
    await expectOk(t, app, 'update_identity_provider', { id: 'acme/okta', isDisabled: true }, who.orgAdmin)
    t.not((await store.tokens.find('via-okta'))?.revokedAt, null, 'disabling revokes its tokens')
    t.equal((await store.tokens.find('via-other'))?.revokedAt, null, 'another provider\'s are kept')
    await expectOk(t, app, 'delete_identity_provider', { id: 'other/idp' }, who.global)
    t.not((await store.tokens.find('via-other'))?.revokedAt, null, 'deleting revokes its tokens')
    await expectError(t, app, 'get_identity_provider', { id: 'other/idp' }, who.global, /not found/)
    await expectError(t, app, 'delete_identity_provider', { id: 'acme/okta' }, who.alice, /not found/)
  })

  t.test('connections: add, get, list, update, delete, reach', async (t) => {
    const args = { owner: 'acme', name: 'crm', audience: 'https://crm.example', resource: 'https://crm.example/mcp', scopes: ['crm:read', 'crm:write'], targetClientId: 'acme-at-crm' }
    const { connection } = await expectOk(t, app, 'add_connection', { ...args, clients: ['acme/acme-app'] }, who.orgAdmin)
    t.match(connection, { id: 'acme/crm', audience: 'https://crm.example', resource: 'https://crm.example/mcp', scopes: ['crm:read', 'crm:write'], clients: ['acme/acme-app'], targetClientId: 'acme-at-crm' })
    await expectError(t, app, 'add_connection', { ...args, name: 'x', clients: ['other/app'] }, who.global, /not an application of organization "acme"/)
    await expectError(t, app, 'add_connection', { ...args, name: 'x', clients: ['acme/ghost'] }, who.global, /application "acme\/ghost" does not exist/)
    await expectError(t, app, 'add_connection', { ...args, name: 'x', scopes: [] }, who.global, /scopes/)
    await expectError(t, app, 'add_connection', { ...args, name: 'x', scopes: ['bad scope'] }, who.global, /scopes/)
    await expectError(t, app, 'add_connection', { ...args, owner: 'other', name: 'x' }, who.orgAdmin, /own organization/)
    await expectError(t, app, 'add_connection', { ...args, name: 'x' }, who.alice, /only an administrator/)
    await expectError(t, app, 'add_connection', args, who.global, /already exists/)

    t.same((await expectOk(t, app, 'get_connections', { filter: 'crm.example/mcp' }, who.orgAdmin)).items.map((c: { id: string }) => c.id), ['acme/crm'])
    t.same((await expectOk(t, app, 'get_connections', {}, who.otherAdmin)).items, [])
    await expectError(t, app, 'get_connection', { id: 'acme/crm' }, who.otherAdmin, /connection "acme\/crm" not found/)
    const { connection: narrowed } = await expectOk(t, app, 'update_connection', { id: 'acme/crm', scopes: ['crm:read'], clients: [] }, who.acmeApp)
    t.same([narrowed.scopes, narrowed.clients], [['crm:read'], []])
    t.same(await app.store.connections.ofOrganization('acme').then(cs => cs.map(c => c.id)), ['acme/crm'])
    await expectOk(t, app, 'delete_connection', { id: 'acme/crm' }, who.orgAdmin)
    await expectError(t, app, 'get_connection', { id: 'acme/crm' }, who.orgAdmin, /not found/)
  })

  t.test('deleting an organization takes its providers and connections along', async (t) => {
    await expectOk(t, app, 'add_organization', { name: 'gone' }, who.global)
    await expectOk(t, app, 'add_identity_provider', { owner: 'gone', name: 'idp', issuer: 'https://gone.example', jwks: { keys: [jwk] } }, who.global)
    await expectOk(t, app, 'add_connection', { owner: 'gone', name: 'c', audience: 'https://t.example', resource: 'https://t.example/mcp', scopes: ['a'], targetClientId: 'x' }, who.global)
    await expectOk(t, app, 'delete_organization', { id: 'admin/gone' }, who.global)
    await expectError(t, app, 'get_identity_provider', { id: 'gone/idp' }, who.global, /not found/)
    await expectError(t, app, 'get_connection', { id: 'gone/c' }, who.global, /not found/)
    t.equal(await app.store.identityProviders.findByIssuer('https://gone.example'), undefined, 'the issuer is free again')
  })
})
