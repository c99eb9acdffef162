import { test } from 'tap'
import { build, BOOTSTRAP_CLIENT } from '../helper.js'
import { callTool } from '../tool-helper.js'
import { expectError, expectOk, seed } from './context.js'

test('application tools', async (t) => {
  const app = await build(t)
  const who = await seed(t, app)

  t.test('add_application: the secret is shown once and works', async (t) => {
    const created = await expectOk(t, app, 'add_application', {
      owner: 'acme',
      name: 'acme-portal',
      displayName: 'Acme portal',
      redirectUris: ['https://portal.acme.test/callback', 'http://127.0.0.1:8765/cb', 'http://localhost/cb'],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['user:read', 'openid', 'read']
    }, who.orgAdmin)
    t.match(created.application, {
      id: 'acme/acme-portal',
      owner: 'acme',
      name: 'acme-portal',
      displayName: 'Acme portal',
      tokenEndpointAuthMethod: 'client_secret_basic',
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['user:read', 'openid', 'read'],
      isDisabled: false,
      isDynamic: false
    })
    t.match(created.clientSecret, /^\S{20,}$/)
    t.match(created.application.clientId, /^\S{8,}$/)
    t.ok(await app.store.applications.authenticate(created.application.clientId, created.clientSecret), 'the shown secret authenticates')

    const read = await callTool(app, 'get_application', { id: 'acme/acme-portal' }, who.orgAdmin)
    t.notOk(read.text?.includes(created.clientSecret), 'get_application never shows the secret')
    t.notOk(read.text?.includes('clientSecret'))
    const list = await callTool(app, 'get_applications', {}, who.global)
    t.notOk(list.text?.includes(created.clientSecret), 'get_applications never shows the secret')

    const defaults = await expectOk(t, app, 'add_application', { owner: 'acme', name: 'acme-batch' }, who.acmeApp)
    t.same(defaults.application.grantTypes, ['client_credentials'], 'client_credentials by default')
    t.same(defaults.application.scopes, [])
  })

  t.test('add_application: conflicts and reach', async (t) => {
    await expectError(t, app, 'add_application', { owner: 'other', name: 'acme-portal' }, who.global, /already exists/)
    await expectError(t, app, 'add_application', { owner: 'other', name: 'x-app' }, who.orgAdmin, /own organization "acme"/)
    await expectError(t, app, 'add_application', { owner: 'acme', name: 'x-app' }, who.alice, /only an administrator/)
    await expectError(t, app, 'add_application', { owner: 'nope', name: 'x-app' }, who.global, /organization "nope" not found/)
  })

  t.test('add_application: bad input is refused with the field named', async (t) => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: '../x' }, /name/],
      [{ name: 'a/b' }, /name/],
      [{ name: 'ok', redirectUris: ['not a uri'] }, /redirectUris/],
      [{ name: 'ok', redirectUris: ['https://x.test/cb#frag'] }, /redirectUris/],
      [{ name: 'ok', redirectUris: ['http://evil.test/cb'] }, /https/],
      [{ name: 'ok', redirectUris: ['javascript:alert(1)'] }, /redirectUris/],
      [{ name: 'ok', redirectUris: ['https://user:pw@x.test/cb'] }, /credentials/],
      [{ name: 'ok', grantTypes: ['password'] }, /grantTypes/],
      [{ name: 'ok', grantTypes: ['authorization_code'] }, /redirect URI/],
      [{ name: 'ok', scopes: ['everything'] }, /scopes/],
      [{ name: 'ok', scopes: ['widget:read'] }, /unknown scope "widget:read"/],
      [{ name: 'ok', clientSecret: 'mine' }, /clientSecret|additional/i]
    ]
    for (const [args, message] of bad) await expectError(t, app, 'add_application', { owner: 'acme', ...args }, who.global, message)
    t.equal(await app.store.applications.findByName('ok'), undefined, 'nothing was created')
  })

  t.test('an application gets no scope its creator does not hold', async (t) => {
    const narrow = { ...who.orgAdmin, scopes: new Set(['application:write', 'user:read']) }
    await expectOk(t, app, 'add_application', { owner: 'acme', name: 'narrow-ok', scopes: ['user:read', 'openid'] }, narrow)
    await expectError(t, app, 'add_application', { owner: 'acme', name: 'narrow-bad', scopes: ['user:write'] }, narrow, /do not hold yourself: user:write/)
    await expectError(t, app, 'add_application', { owner: 'acme', name: 'narrow-bad', scopes: ['admin'] }, narrow, /do not hold yourself/)
    await expectError(t, app, 'update_application', { id: 'acme/narrow-ok', scopes: ['read'] }, narrow, /do not hold yourself: .*application:read/)
    const self = { ...who.acmeApp, id: 'acme/narrow-ok', name: 'narrow-ok', scopes: new Set(['application:write', 'user:read']) }
    await expectError(t, app, 'update_application', { id: 'acme/narrow-ok', scopes: ['user:read', 'user:write'] }, self, /do not hold yourself: user:write/)
    const session = { ...who.orgAdmin, scopes: null }
    await expectOk(t, app, 'update_application', { id: 'acme/narrow-ok', scopes: ['admin'] }, session)
    await app.store.applications.delete('acme/narrow-ok')
  })

  t.test('get_application / get_applications: reach', async (t) => {
    await expectOk(t, app, 'get_application', { id: 'acme/acme-app' }, who.acmeApp)
    await expectOk(t, app, 'get_application', { id: 'built-in/app-built-in' }, who.builtInApp)
    await expectError(t, app, 'get_application', { id: 'built-in/app-built-in' }, who.orgAdmin, /not found/)
    await expectError(t, app, 'get_application', { id: 'acme/acme-app' }, who.alice, /not found/)
    await expectError(t, app, 'get_application', { id: 'acme/nope' }, who.global, /application "acme\/nope" not found/)

    const acme = await expectOk(t, app, 'get_applications', {}, who.orgAdmin)
    t.same(acme.items.map((a: { id: string }) => a.id), ['acme/acme-app', 'acme/acme-batch', 'acme/acme-portal'])
    const all = await expectOk(t, app, 'get_applications', {}, who.global)
    t.ok(all.items.some((a: { id: string }) => a.id === 'built-in/app-built-in'))
    const filtered = await expectOk(t, app, 'get_applications', { filter: 'PORTAL' }, who.global)
    t.same(filtered.items.map((a: { id: string }) => a.id), ['acme/acme-portal'])
    const page = await expectOk(t, app, 'get_applications', { owner: 'acme', limit: 2 }, who.global)
    t.equal(page.items.length, 2)
    const next = await expectOk(t, app, 'get_applications', { owner: 'acme', limit: 2, cursor: page.nextCursor }, who.global)
    t.same(next.items.map((a: { id: string }) => a.id), ['acme/acme-portal'])
    t.equal(next.nextCursor, undefined)
    t.same((await expectOk(t, app, 'get_applications', {}, who.alice)).items, [], 'a plain user sees no applications')
    t.same((await expectOk(t, app, 'get_applications', { owner: 'built-in' }, who.orgAdmin)).items, [])
  })

  t.test('update_application', async (t) => {
    const { application } = await expectOk(t, app, 'update_application', { id: 'acme/acme-portal', displayName: 'Portal', isDisabled: true }, who.orgAdmin)
    t.match(application, { displayName: 'Portal', isDisabled: true, scopes: ['user:read', 'openid', 'read'] })
    await expectError(t, app, 'update_application', { id: 'acme/acme-portal', redirectUris: [] }, who.orgAdmin, /authorization_code grant needs/)
    await expectError(t, app, 'update_application', { id: 'acme/acme-portal', scopes: ['nope:read'] }, who.orgAdmin, /unknown scope/)
    const changed = await expectOk(t, app, 'update_application', { id: 'acme/acme-portal', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['admin'] }, who.global)
    t.same(changed.application.grantTypes, ['client_credentials'])
    await expectError(t, app, 'update_application', { id: 'built-in/app-built-in', isDisabled: true }, who.global, /cannot be disabled/)
    await expectOk(t, app, 'update_application', { id: 'built-in/app-built-in', displayName: 'Bootstrap' }, who.global)
    await expectError(t, app, 'update_application', { id: 'acme/acme-app', displayName: 'x' }, who.otherAdmin, /not found/)
    await expectError(t, app, 'update_application', { id: 'acme/acme-app', displayName: 'x' }, who.alice, /not found/)
    await expectError(t, app, 'update_application', { id: 'acme/none', displayName: 'x' }, who.global, /not found/)
  })

  t.test('rotate_application_secret: a new secret, once; the old stops working', async (t) => {
    const before = await app.store.applications.get('acme/acme-batch')
    const first = await expectOk(t, app, 'add_application', { owner: 'acme', name: 'rotating' }, who.global)
    const rotated = await expectOk(t, app, 'rotate_application_secret', { id: 'acme/rotating' }, who.orgAdmin)
    t.not(rotated.clientSecret, first.clientSecret)
    t.equal(rotated.application.clientId, first.application.clientId, 'the client id stays')
    t.ok(await app.store.applications.authenticate(first.application.clientId, rotated.clientSecret))
    t.equal(await app.store.applications.authenticate(first.application.clientId, first.clientSecret), undefined, 'the old secret is dead')
    await expectError(t, app, 'rotate_application_secret', { id: 'acme/rotating' }, who.otherAdmin, /not found/)
    await expectError(t, app, 'rotate_application_secret', { id: 'acme/rotating' }, who.alice, /not found/)
    await expectError(t, app, 'rotate_application_secret', { id: 'acme/none' }, who.global, /not found/)
    t.ok(before, 'other applications are untouched')
  })

  t.test('rotate_application_secret: public clients have no secret', async (t) => {
    await app.store.applications.create({ owner: 'acme', name: 'public-one', tokenEndpointAuthMethod: 'none', grantTypes: ['authorization_code'], redirectUris: ['https://x.test/cb'] })
    await expectError(t, app, 'rotate_application_secret', { id: 'acme/public-one' }, who.global, /public client/)
  })

  t.test('delete_application: revokes its tokens; the bootstrap application stays', async (t) => {
    const client = await app.store.applications.get('acme/acme-batch')
    await app.store.tokens.insert({ id: 'batch-own', kind: 'access', subject: 'acme/acme-batch', subjectKind: 'application', clientId: client.clientId, scope: '', audience: 'x', familyId: null, sessionId: null, codeId: null, expiresAt: Date.now() + 60000 })
    await app.store.tokens.insert({ id: 'batch-user', kind: 'refresh', subject: 'acme/alice', subjectKind: 'user', clientId: client.clientId, scope: '', audience: 'x', familyId: 'f', sessionId: null, codeId: null, expiresAt: Date.now() + 60000 })
    await app.store.tokens.insert({ id: 'unrelated', kind: 'access', subject: 'acme/alice', subjectKind: 'user', clientId: 'someone-else', scope: '', audience: 'x', familyId: null, sessionId: null, codeId: null, expiresAt: Date.now() + 60000 })
    await expectError(t, app, 'delete_application', { id: 'acme/acme-batch' }, who.alice, /not found/)
    await expectError(t, app, 'delete_application', { id: 'acme/acme-batch' }, who.otherAdmin, /not found/)
    const { application } = await expectOk(t, app, 'delete_application', { id: 'acme/acme-batch' }, who.orgAdmin)
    t.equal(application.id, 'acme/acme-batch')
    t.equal(await app.store.applications.findByName('acme-batch'), undefined)
    t.not((await app.store.tokens.find('batch-own'))?.revokedAt ?? null, null, 'its own tokens are revoked')
    t.not((await app.store.tokens.find('batch-user'))?.revokedAt ?? null, null, 'tokens issued through it are revoked')
    t.equal((await app.store.tokens.find('unrelated'))?.revokedAt, null, 'other tokens are untouched')
    await expectError(t, app, 'delete_application', { id: 'acme/acme-batch' }, who.orgAdmin, /not found/)
    await expectError(t, app, 'delete_application', { id: 'built-in/app-built-in' }, who.global, /cannot be deleted/)
    await expectError(t, app, 'delete_application', { id: 'built-in/app-built-in' }, who.builtInApp, /cannot be deleted/)
    t.ok(await app.store.applications.authenticate(BOOTSTRAP_CLIENT.id, BOOTSTRAP_CLIENT.secret), 'the bootstrap application still works')
  })
})
