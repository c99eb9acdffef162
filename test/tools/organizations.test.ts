import { test } from 'tap'
import { build } from '../helper.js'
import { expectError, expectOk, seed } from './context.js'

test('organization tools', async (t) => {
  const app = await build(t)
  const who = await seed(t, app)

  t.test('add_organization: created, duplicate is a conflict, only global admins', async (t) => {
    const { organization } = await expectOk(t, app, 'add_organization', { name: 'initech', displayName: 'Initech', websiteUrl: 'https://initech.test' }, who.global)
    t.match(organization, { id: 'admin/initech', owner: 'admin', name: 'initech', displayName: 'Initech', websiteUrl: 'https://initech.test' })
    t.match(organization.createdTime, /^\d{4}-\d\d-\d\dT/)
    await expectError(t, app, 'add_organization', { name: 'initech' }, who.global, /already exists/)
    await expectError(t, app, 'add_organization', { name: 'evil' }, who.orgAdmin, /only a global admin/)
    await expectError(t, app, 'add_organization', { name: 'evil' }, who.acmeApp, /only a global admin/)
    await expectOk(t, app, 'add_organization', { name: 'by-app' }, who.builtInApp)
  })

  t.test('add_organization: names are validated by the schema', async (t) => {
    for (const name of ['../etc', 'a/b', '', '.hidden', 'x'.repeat(65), 'spa ce']) {
      await expectError(t, app, 'add_organization', { name }, who.global, /name/)
    }
    await expectError(t, app, 'add_organization', { name: 'ok', websiteUrl: 'javascript:alert(1)' }, who.global, /websiteUrl/)
    await expectError(t, app, 'add_organization', { name: 'ok', extra: 1 }, who.global, /extra|additional/i)
  })

  t.test('get_organization: by id or name; other organizations look missing', async (t) => {
    const byId = await expectOk(t, app, 'get_organization', { id: 'admin/acme' }, who.global)
    t.match(byId, { organization: { name: 'acme', displayName: 'Acme Inc.' }, users: 2, applications: 1 })
    const byName = await expectOk(t, app, 'get_organization', { id: 'acme' }, who.alice)
    t.equal(byName.organization.id, 'admin/acme', 'a plain user reads its own organization')
    await expectOk(t, app, 'get_organization', { id: 'acme' }, who.acmeApp)
    const hidden = await expectError(t, app, 'get_organization', { id: 'other' }, who.orgAdmin, /not found/)
    const missing = await expectError(t, app, 'get_organization', { id: 'nope' }, who.global, /not found/)
    t.equal(hidden.replace('other', 'X'), missing.replace('nope', 'X'), 'hidden and missing read the same')
  })

  t.test('get_organizations: global sees all with filter and paging; others their own', async (t) => {
    const all = await expectOk(t, app, 'get_organizations', {}, who.global)
    t.same(all.items.map((o: { name: string }) => o.name).sort(), ['acme', 'built-in', 'by-app', 'initech', 'other'])
    const filtered = await expectOk(t, app, 'get_organizations', { owner: 'admin', filter: 'ACME' }, who.global)
    t.same(filtered.items.map((o: { name: string }) => o.name), ['acme'], 'filter is case-insensitive')
    const byDisplay = await expectOk(t, app, 'get_organizations', { filter: 'inc.' }, who.global)
    t.same(byDisplay.items.map((o: { name: string }) => o.name), ['acme'], 'filter matches the display name')

    const seen: string[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await expectOk(t, app, 'get_organizations', cursor === undefined ? { limit: 2 } : { limit: 2, cursor }, who.global)
      t.ok(page.items.length <= 2)
      seen.push(...page.items.map((o: { name: string }) => o.name))
      cursor = page.nextCursor
      pages++
    } while (cursor !== undefined)
    t.equal(pages, 3)
    t.same(seen, [...all.items.map((o: { name: string }) => o.name)], 'pages add up to the whole list, in order')

    for (const caller of [who.orgAdmin, who.alice, who.acmeApp]) {
      const own = await expectOk(t, app, 'get_organizations', {}, caller)
      t.same(own.items.map((o: { name: string }) => o.name), ['acme'])
      const none = await expectOk(t, app, 'get_organizations', { filter: 'other' }, caller)
      t.same(none.items, [])
    }
    await expectError(t, app, 'get_organizations', { cursor: 'not-a-cursor' }, who.global, /invalid cursor/)
    await expectError(t, app, 'get_organizations', { limit: 501 }, who.global, /limit/)
    await expectError(t, app, 'get_organizations', { limit: 0 }, who.global, /limit/)
  })

  t.test('update_organization: own organization for its admin; never for plain users', async (t) => {
    const { organization } = await expectOk(t, app, 'update_organization', { id: 'acme', displayName: 'Acme Corporation' }, who.orgAdmin)
    t.equal(organization.displayName, 'Acme Corporation')
    t.equal(organization.websiteUrl, '', 'fields left out stay')
    await expectError(t, app, 'update_organization', { id: 'acme', displayName: 'x' }, who.alice, /only an administrator/)
    await expectError(t, app, 'update_organization', { id: 'other', displayName: 'x' }, who.orgAdmin, /not found/)
    await expectError(t, app, 'update_organization', { id: 'nope', displayName: 'x' }, who.global, /not found/)
    const { organization: other } = await expectOk(t, app, 'update_organization', { id: 'admin/other', websiteUrl: 'https://other.test' }, who.global)
    t.equal(other.websiteUrl, 'https://other.test')
  })

  t.test('delete_organization: cascade, built-in refused, global admins only', async (t) => {
    await expectError(t, app, 'delete_organization', { id: 'built-in' }, who.global, /cannot be deleted/)
    await expectError(t, app, 'delete_organization', { id: 'built-in', cascade: true }, who.builtInApp, /cannot be deleted/)
    await expectError(t, app, 'delete_organization', { id: 'acme' }, who.orgAdmin, /only a global admin/)
    await expectError(t, app, 'delete_organization', { id: 'other' }, who.orgAdmin, /not found/)

    await expectOk(t, app, 'add_role', { owner: 'other', name: 'viewer' }, who.global)
    await expectOk(t, app, 'add_permission', { owner: 'other', name: 'see', roles: ['other/viewer'] }, who.global)
    const refused = await expectError(t, app, 'delete_organization', { id: 'other' }, who.global, /cascade/)
    t.match(refused, /1 users and 0 applications/)
    t.ok(await app.store.users.find('other/olga'), 'nothing was deleted')

    await app.store.tokens.insert({ id: 'olga-token', kind: 'access', subject: 'other/olga', subjectKind: 'user', clientId: 'c', scope: '', audience: 'x', familyId: null, sessionId: null, codeId: null, expiresAt: Date.now() + 60000 })
    const { organization } = await expectOk(t, app, 'delete_organization', { id: 'other', cascade: true }, who.global)
    t.not((await app.store.tokens.find('olga-token'))?.revokedAt ?? null, null, 'its users\' tokens are revoked')
    t.equal(organization.name, 'other')
    t.equal(await app.store.users.find('other/olga'), undefined, 'its users are gone')
    await t.rejects(app.store.roles.get('other/viewer'), { code: 'not_found' }, 'its roles are gone')
    await t.rejects(app.store.permissions.get('other/see'), { code: 'not_found' }, 'its permissions are gone')
    await expectError(t, app, 'get_organization', { id: 'other' }, who.global, /not found/)

    const empty = await expectOk(t, app, 'delete_organization', { id: 'admin/initech' }, who.global)
    t.equal(empty.organization.id, 'admin/initech', 'an empty organization needs no cascade')
    await expectError(t, app, 'delete_organization', { id: 'initech' }, who.global, /not found/)
  })
})
