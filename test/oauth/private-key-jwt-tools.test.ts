import { test } from 'tap'
import { build } from '../helper.js'
import { callTool } from '../tool-helper.js'
import { expectError, expectOk, seed } from '../tools/context.js'
import { assertion, keyPair, PUBLIC_URL, tokenRequest } from './pkjwt.js'

/*
 * The application tools and private_key_jwt: a machine client made through add_application
 * gets no secret and works at once with its key; keys are checked when stored; changing how an
 * application authenticates is held to the no-escalation rule like its redirect URIs.
 */
test('application tools and private_key_jwt', async (t) => {
  const app = await build(t, { env: { PUBLIC_URL } })
  const who = await seed(t, app)
  const key = await keyPair('k1')

  t.test('add_application with private_key_jwt: no secret, its key works', async (t) => {
    const created = await expectOk(t, app, 'add_application', { owner: 'acme', name: 'acme-robot', scopes: ['user:read'], tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [key.publicJwk] }, dpopBoundAccessTokens: false, applicationType: 'web' }, who.orgAdmin)
    t.equal(created.clientSecret, undefined, 'no secret is made or shown')
    t.match(created.application, { tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [{ kid: 'k1' }] }, applicationType: 'web', dpopBoundAccessTokens: false, isDynamic: false, isMetadataDocument: false })
    const token = await tokenRequest(app, await assertion(key, created.application.clientId), { scope: 'user:read' })
    t.equal(token.statusCode, 200, 'client_credentials with its assertion')
    const read = await expectOk(t, app, 'get_application', { id: 'acme/acme-robot' }, who.orgAdmin)
    t.same(read.application.jwks, { keys: [key.publicJwk] })
    const listed = await expectOk(t, app, 'get_applications', { owner: 'acme' }, who.orgAdmin)
    t.ok(listed.items.some((a: { id: string, tokenEndpointAuthMethod: string }) => a.id === 'acme/acme-robot' && a.tokenEndpointAuthMethod === 'private_key_jwt'))
    await expectError(t, app, 'rotate_application_secret', { id: 'acme/acme-robot' }, who.orgAdmin, /private_key_jwt and has no secret/)

    const remote = await expectOk(t, app, 'add_application', { owner: 'acme', name: 'acme-remote', tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'https://keys.acme.test/jwks.json' }, who.orgAdmin)
    t.match(remote.application, { jwksUri: 'https://keys.acme.test/jwks.json' })
    t.notOk('jwks' in remote.application)
  })

  t.test('keys are checked when stored', async (t) => {
    const base = { owner: 'acme', tokenEndpointAuthMethod: 'private_key_jwt' }
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{}, /exactly one of jwks .* or jwksUri/],
      [{ jwks: { keys: [key.publicJwk] }, jwksUri: 'https://keys.acme.test/jwks.json' }, /exactly one of jwks/],
      [{ jwks: { keys: [{ ...key.publicJwk, d: 'AAAA' }] } }, /jwks: key 0 holds private key material/],
      [{ jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0c2VjcmV0' }] } }, /symmetric/],
      [{ jwks: { keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB', alg: 'HS256' }] } }, /alg "HS256"/],
      [{ jwks: { keys: [] } }, /jwks/],
      [{ jwksUri: 'http://keys.acme.test/jwks.json' }, /jwksUri: only https/],
      [{ jwksUri: 'https://127.0.0.1/jwks.json' }, /jwksUri: the URL names a non-public address/],
      [{ jwksUri: 'https://10.0.0.8/jwks.json' }, /non-public address/],
      [{ tokenEndpointAuthMethod: 'client_secret_basic', jwks: { keys: [key.publicJwk] } }, /only for tokenEndpointAuthMethod private_key_jwt/],
      [{ tokenEndpointAuthMethod: 'shared_secret_jwt' }, /tokenEndpointAuthMethod/]
    ]
    for (const [i, [args, message]] of bad.entries()) {
      await expectError(t, app, 'add_application', { ...base, name: `bad-${i}`, ...args }, who.orgAdmin, message)
    }
  })

  t.test('update_application switches methods; the keys follow the method', async (t) => {
    await expectOk(t, app, 'add_application', { owner: 'acme', name: 'acme-switch', scopes: ['user:read'] }, who.orgAdmin)
    await expectError(t, app, 'update_application', { id: 'acme/acme-switch', tokenEndpointAuthMethod: 'private_key_jwt' }, who.orgAdmin, /exactly one of jwks/)
    const switched = await expectOk(t, app, 'update_application', { id: 'acme/acme-switch', tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [key.publicJwk] } }, who.orgAdmin)
    t.equal(switched.application.tokenEndpointAuthMethod, 'private_key_jwt')
    const stored = await app.store.applications.get('acme/acme-switch')
    t.equal(await app.store.applications.authenticate(stored.clientId, 'anything'), undefined, 'no secret left')
    const moved = await expectOk(t, app, 'update_application', { id: 'acme/acme-switch', jwks: null, jwksUri: 'https://keys.acme.test/rotated.json' }, who.orgAdmin)
    t.match(moved.application, { jwksUri: 'https://keys.acme.test/rotated.json' })
    t.notOk('jwks' in moved.application)
    const back = await expectOk(t, app, 'update_application', { id: 'acme/acme-switch', tokenEndpointAuthMethod: 'client_secret_basic' }, who.orgAdmin)
    t.notOk('jwksUri' in back.application, 'leaving private_key_jwt drops its keys')
    const secret = await expectOk(t, app, 'rotate_application_secret', { id: 'acme/acme-switch' }, who.orgAdmin)
    t.match(secret.clientSecret, /\S{20,}/, 'a secret method gets its secret by rotation')
    const dpop = await expectOk(t, app, 'update_application', { id: 'acme/acme-switch', dpopBoundAccessTokens: true, applicationType: 'native' }, who.orgAdmin)
    t.match(dpop.application, { dpopBoundAccessTokens: true, applicationType: 'native' })
  })

  t.test('changing how an application authenticates is held to the no-escalation rule', async (t) => {
    // acme-app (scopes: read) may manage applications of acme but does not hold "admin".
    await expectOk(t, app, 'add_application', { owner: 'acme', name: 'acme-admin-tool', scopes: ['admin'] }, who.global)
    const asLimited = { kind: 'application' as const, id: 'acme/acme-app', scopes: ['application:write', 'application:read'] }
    for (const change of [
      { tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [key.publicJwk] } },
      { dpopBoundAccessTokens: true },
      { applicationType: 'native' }
    ]) {
      const reply = await callTool(app, 'update_application', { id: 'acme/acme-admin-tool', ...change }, asLimited)
      t.ok(reply.isError, `refused: ${Object.keys(change).join(', ')}`)
      t.match(reply.text, /scopes you do not hold yourself/)
    }
    const rename = await callTool(app, 'update_application', { id: 'acme/acme-admin-tool', displayName: 'renamed' }, asLimited)
    t.notOk(rename.isError, 'a display name is not a way in')
  })
})
