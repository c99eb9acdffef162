import { test } from 'tap'
import { build } from '../helper.js'
import { principalFor } from '../tool-helper.js'
import { expectError, expectOk, seed } from './context.js'

test('audit, signing key and account tools', async (t) => {
  const app = await build(t)
  const who = await seed(t, app)

  t.test('get_audit_events: global sees all, organization admins their own, others refused', async (t) => {
    const base = Date.parse('2026-01-01T00:00:00Z')
    const event = (id: string, minutes: number, principal: string, organization: string, tool: string) => ({
      id, at: base + minutes * 60_000, principal, principalKind: 'user', organization, clientId: 'c', tool, outcome: 'success' as const, durationMs: 3, arguments: { id: 'x' }, error: ''
    })
    await app.store.audit.insertMany([
      event('e1', 0, 'acme/boss', 'acme', 'get_user'),
      event('e2', 10, 'acme/alice', 'acme', 'update_user'),
      event('e3', 20, 'other/olga', 'other', 'get_user'),
      event('e4', 30, 'acme/boss', 'acme', 'delete_user')
    ])
    const window = { from: '2026-01-01T00:00:00Z', to: '2026-01-01T01:00:00Z' }
    const all = await expectOk(t, app, 'get_audit_events', window, who.global)
    t.same(all.items.map((e: { id: string }) => e.id), ['e4', 'e3', 'e2', 'e1'], 'newest first')
    t.match(all.items[0], { time: '2026-01-01T00:30:00.000Z', principal: 'acme/boss', organization: 'acme', tool: 'delete_user', outcome: 'success', durationMs: 3, arguments: { id: 'x' } })

    const acme = await expectOk(t, app, 'get_audit_events', window, who.orgAdmin)
    t.same(acme.items.map((e: { id: string }) => e.id), ['e4', 'e2', 'e1'], 'an organization admin sees its organization only')
    t.same((await expectOk(t, app, 'get_audit_events', { ...window, organization: 'other' }, who.orgAdmin)).items, [])
    t.same((await expectOk(t, app, 'get_audit_events', { ...window, organization: 'other' }, who.global)).items.map((e: { id: string }) => e.id), ['e3'])
    t.same((await expectOk(t, app, 'get_audit_events', { ...window, tool: 'get_user' }, who.global)).items.map((e: { id: string }) => e.id), ['e3', 'e1'])
    t.same((await expectOk(t, app, 'get_audit_events', { ...window, principal: 'acme/alice' }, who.global)).items.map((e: { id: string }) => e.id), ['e2'])
    t.same((await expectOk(t, app, 'get_audit_events', { from: '2026-01-01T00:10:00Z', to: '2026-01-01T00:20:00+00:00' }, who.global)).items.map((e: { id: string }) => e.id), ['e3', 'e2'], 'from and to are inclusive')

    const first = await expectOk(t, app, 'get_audit_events', { ...window, limit: 3 }, who.global)
    t.same(first.items.map((e: { id: string }) => e.id), ['e4', 'e3', 'e2'])
    const rest = await expectOk(t, app, 'get_audit_events', { ...window, limit: 3, cursor: first.nextCursor }, who.global)
    t.same(rest.items.map((e: { id: string }) => e.id), ['e1'])
    t.equal(rest.nextCursor, undefined)

    await expectError(t, app, 'get_audit_events', window, who.alice, /only administrators/)
    await expectError(t, app, 'get_audit_events', { from: 'yesterday' }, who.global, /from/)
    await expectError(t, app, 'get_audit_events', { from: '2026-02-30T00:00:00Z' }, who.global, /not a valid date-time/)
    await expectError(t, app, 'get_audit_events', { to: '2026-01-01T24:00:00Z' }, who.global, /not a valid date-time/)
    await expectError(t, app, 'get_audit_events', { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }, who.global, /later than/)
  })

  t.test('get_audit_events: tool calls are recorded, secrets removed', async (t) => {
    const since = new Date().toISOString()
    await expectOk(t, app, 'update_user', { id: 'acme/alice', password: 'a-brand-new-password' }, who.alice)
    await app.audit.flush()
    const page = await expectOk(t, app, 'get_audit_events', { from: since, tool: 'update_user' }, who.orgAdmin)
    t.equal(page.items.length, 1)
    t.match(page.items[0], { principal: 'acme/alice', tool: 'update_user', outcome: 'success' })
    t.notOk(JSON.stringify(page).includes('a-brand-new-password'), 'the password is not in the log')
  })

  t.test('get_signing_keys / rotate_signing_key', async (t) => {
    const before = await expectOk(t, app, 'get_signing_keys', {}, who.alice)
    t.equal(before.items.filter((k: { current: boolean }) => k.current).length, 1, 'one current key')
    t.match(before.items[0], { kid: /\S+/, algorithm: 'RS256', current: true })
    t.notOk(JSON.stringify(before).includes('PRIVATE KEY'))

    await expectError(t, app, 'rotate_signing_key', {}, who.orgAdmin, /only a global admin/)
    await expectError(t, app, 'rotate_signing_key', {}, who.acmeApp, /only a global admin/)
    const { key } = await expectOk(t, app, 'rotate_signing_key', {}, who.global)
    t.match(key, { current: true, algorithm: 'RS256' })
    t.not(key.kid, before.items[0].kid)
    const after = await expectOk(t, app, 'get_signing_keys', {}, who.global)
    t.equal(after.items.find((k: { current: boolean }) => k.current).kid, key.kid, 'the new key is current')
    const old = after.items.find((k: { kid: string }) => k.kid === before.items[0].kid)
    t.match(old, { current: false, retiredTime: /^\d{4}-/ }, 'the old key stays, retired')
    const again = await expectOk(t, app, 'rotate_signing_key', {}, who.builtInApp)
    t.not(again.key.kid, key.kid, 'the built-in application is a global admin')
  })

  t.test('get_account: who is calling', async (t) => {
    const global = await expectOk(t, app, 'get_account', {}, who.global)
    t.match(global, { kind: 'user', id: 'built-in/admin', name: 'admin', organization: 'built-in', role: 'global-admin', isAdmin: true, isGlobalAdmin: true, unrestricted: false, displayName: 'Administrator' })
    t.same(global.scopes, [...app.tools.scopes].sort())

    const admin = await expectOk(t, app, 'get_account', {}, who.orgAdmin)
    t.match(admin, { role: 'organization-admin', organization: 'acme', isGlobalAdmin: false })

    await app.store.roles.create({ owner: 'acme', name: 'reader' })
    await app.store.roles.assign('acme/alice', 'acme/reader')
    const narrow = principalFor(app, { id: 'acme/alice', scopes: ['account:read', 'user:read'], clientId: 'some-client', sessionId: 'raw-session-id' })
    const alice = await expectOk(t, app, 'get_account', {}, narrow)
    t.match(alice, { kind: 'user', role: 'user', isAdmin: false, scopes: ['account:read', 'user:read'], clientId: 'some-client', roles: ['acme/reader'], email: 'alice@acme.test' })
    t.match(alice.session, /^ses_/)
    t.notOk(JSON.stringify(alice).includes('raw-session-id'), 'the raw session id never shows')

    const application = await expectOk(t, app, 'get_account', {}, who.acmeApp)
    t.match(application, { kind: 'application', id: 'acme/acme-app', role: 'application', isGlobalAdmin: false, roles: [] })
    const builtIn = await expectOk(t, app, 'get_account', {}, who.builtInApp)
    t.match(builtIn, { kind: 'application', role: 'global-admin', isGlobalAdmin: true })

    const session = await expectOk(t, app, 'get_account', {}, principalFor(app, { id: 'acme/alice', scopes: null }))
    t.equal(session.unrestricted, true, 'a login session is unrestricted')
    t.same(session.scopes, [...app.tools.scopes].sort())
  })
})
