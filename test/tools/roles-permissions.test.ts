import { test } from 'tap'
import { build } from '../helper.js'
import { expectError, expectOk, seed } from './context.js'

test('role and permission tools', async (t) => {
  const app = await build(t)
  const who = await seed(t, app)

  t.test('roles: add, get, list, update, reach', async (t) => {
    const { role } = await expectOk(t, app, 'add_role', { owner: 'acme', name: 'editor', displayName: 'Editor', description: 'edits things' }, who.orgAdmin)
    t.match(role, { id: 'acme/editor', owner: 'acme', name: 'editor', displayName: 'Editor', description: 'edits things' })
    await expectOk(t, app, 'add_role', { owner: 'acme', name: 'viewer' }, who.acmeApp)
    await expectOk(t, app, 'add_role', { owner: 'other', name: 'viewer' }, who.otherAdmin)
    await expectError(t, app, 'add_role', { owner: 'acme', name: 'editor' }, who.global, /already exists/)
    await expectError(t, app, 'add_role', { owner: 'other', name: 'x' }, who.orgAdmin, /own organization/)
    await expectError(t, app, 'add_role', { owner: 'acme', name: 'x' }, who.alice, /only an administrator/)
    await expectError(t, app, 'add_role', { owner: 'acme', name: 'a b' }, who.global, /name/)
    await expectError(t, app, 'add_role', { owner: 'ghost', name: 'x' }, who.global, /organization "ghost" not found/)

    const got = await expectOk(t, app, 'get_role', { id: 'acme/editor' }, who.orgAdmin)
    t.same(got.users, [])
    await expectError(t, app, 'get_role', { id: 'other/viewer' }, who.orgAdmin, /role "other\/viewer" not found/)
    await expectError(t, app, 'get_role', { id: 'acme/editor' }, who.alice, /not found/)
    await expectError(t, app, 'get_role', { id: 'acme/none' }, who.global, /not found/)

    const acme = await expectOk(t, app, 'get_roles', {}, who.orgAdmin)
    t.same(acme.items.map((r: { id: string }) => r.id), ['acme/editor', 'acme/viewer'])
    const all = await expectOk(t, app, 'get_roles', { filter: 'view' }, who.global)
    t.same(all.items.map((r: { id: string }) => r.id), ['acme/viewer', 'other/viewer'])
    const first = await expectOk(t, app, 'get_roles', { limit: 1 }, who.global)
    t.equal(first.items.length, 1)
    t.type(first.nextCursor, 'string')
    const second = await expectOk(t, app, 'get_roles', { limit: 1, cursor: first.nextCursor }, who.global)
    t.not(second.items[0].id, first.items[0].id)
    t.same((await expectOk(t, app, 'get_roles', {}, who.alice)).items, [])
    t.same((await expectOk(t, app, 'get_roles', { owner: 'other' }, who.orgAdmin)).items, [])

    const { role: updated } = await expectOk(t, app, 'update_role', { id: 'acme/editor', description: 'edits everything' }, who.orgAdmin)
    t.match(updated, { displayName: 'Editor', description: 'edits everything' })
    await expectError(t, app, 'update_role', { id: 'other/viewer', description: 'x' }, who.orgAdmin, /not found/)
    await expectError(t, app, 'update_role', { id: 'acme/editor', description: 'x' }, who.alice, /not found/)
  })

  t.test('assign_role / unassign_role', async (t) => {
    const assigned = await expectOk(t, app, 'assign_role', { user: 'acme/alice', role: 'acme/editor' }, who.orgAdmin)
    t.same(assigned, { user: 'acme/alice', role: 'acme/editor', roles: ['acme/editor'] })
    await expectOk(t, app, 'assign_role', { user: 'acme/alice', role: 'acme/viewer' }, who.acmeApp)
    await expectError(t, app, 'assign_role', { user: 'acme/alice', role: 'acme/editor' }, who.orgAdmin, /already exists/)
    await expectError(t, app, 'assign_role', { user: 'acme/alice', role: 'other/viewer' }, who.global, /another organization/)
    await expectError(t, app, 'assign_role', { user: 'other/olga', role: 'acme/editor' }, who.orgAdmin, /user "other\/olga" not found/)
    await expectError(t, app, 'assign_role', { user: 'acme/alice', role: 'other/viewer' }, who.orgAdmin, /role "other\/viewer" not found/)
    await expectError(t, app, 'assign_role', { user: 'acme/alice', role: 'acme/editor' }, who.alice, /not found/)
    await expectError(t, app, 'assign_role', { user: 'acme/nobody', role: 'acme/editor' }, who.global, /user "acme\/nobody" not found/)
    await expectError(t, app, 'assign_role', { user: 'acme/alice', role: 'acme/nothing' }, who.global, /role "acme\/nothing" not found/)

    const role = await expectOk(t, app, 'get_role', { id: 'acme/editor' }, who.global)
    t.same(role.users, ['acme/alice'], 'get_role lists its holders')
    const user = await expectOk(t, app, 'get_user', { id: 'acme/alice' }, who.alice)
    t.same(user.roles, ['acme/editor', 'acme/viewer'], 'get_user lists the roles')

    const unassigned = await expectOk(t, app, 'unassign_role', { user: 'acme/alice', role: 'acme/viewer' }, who.orgAdmin)
    t.same(unassigned.roles, ['acme/editor'])
    await expectError(t, app, 'unassign_role', { user: 'acme/alice', role: 'acme/viewer' }, who.orgAdmin, /does not have role/)
    await expectError(t, app, 'unassign_role', { user: 'acme/alice', role: 'acme/editor' }, who.otherAdmin, /not found/)
  })

  t.test('permissions: add, get, list, update, delete', async (t) => {
    const { permission } = await expectOk(t, app, 'add_permission', {
      owner: 'acme', name: 'edit-docs', roles: ['acme/editor'], resources: ['documents/*'], actions: ['read', 'write']
    }, who.orgAdmin)
    t.match(permission, { id: 'acme/edit-docs', roles: ['acme/editor'], resources: ['documents/*'], actions: ['read', 'write'], effect: 'allow', description: '' })
    await expectOk(t, app, 'add_permission', { owner: 'acme', name: 'no-delete', actions: ['delete'], effect: 'deny' }, who.acmeApp)
    await expectOk(t, app, 'add_permission', { owner: 'other', name: 'other-perm' }, who.global)
    await expectError(t, app, 'add_permission', { owner: 'acme', name: 'edit-docs' }, who.global, /already exists/)
    await expectError(t, app, 'add_permission', { owner: 'acme', name: 'x', roles: ['other/viewer'] }, who.global, /not a role of organization "acme"/)
    await expectError(t, app, 'add_permission', { owner: 'acme', name: 'x', roles: ['acme/ghost'] }, who.global, /role "acme\/ghost" does not exist/)
    await expectError(t, app, 'add_permission', { owner: 'acme', name: 'x', effect: 'maybe' }, who.global, /effect/)
    await expectError(t, app, 'add_permission', { owner: 'other', name: 'x' }, who.orgAdmin, /own organization/)
    await expectError(t, app, 'add_permission', { owner: 'acme', name: 'x' }, who.alice, /only an administrator/)

    await expectOk(t, app, 'get_permission', { id: 'acme/edit-docs' }, who.acmeApp)
    await expectError(t, app, 'get_permission', { id: 'other/other-perm' }, who.orgAdmin, /permission "other\/other-perm" not found/)
    await expectError(t, app, 'get_permission', { id: 'acme/edit-docs' }, who.alice, /not found/)

    const list = await expectOk(t, app, 'get_permissions', {}, who.orgAdmin)
    t.same(list.items.map((p: { id: string }) => p.id), ['acme/edit-docs', 'acme/no-delete'])
    const filtered = await expectOk(t, app, 'get_permissions', { filter: 'other' }, who.global)
    t.same(filtered.items.map((p: { id: string }) => p.id), ['other/other-perm'])
    const paged = await expectOk(t, app, 'get_permissions', { owner: 'acme', limit: 1 }, who.global)
    t.equal(paged.items.length, 1)
    const rest = await expectOk(t, app, 'get_permissions', { owner: 'acme', limit: 1, cursor: paged.nextCursor }, who.global)
    t.same(rest.items.map((p: { id: string }) => p.id), ['acme/no-delete'])
    t.same((await expectOk(t, app, 'get_permissions', {}, who.alice)).items, [])

    const { permission: changed } = await expectOk(t, app, 'update_permission', { id: 'acme/edit-docs', roles: ['acme/editor', 'acme/viewer'], effect: 'deny' }, who.orgAdmin)
    t.match(changed, { roles: ['acme/editor', 'acme/viewer'], effect: 'deny', actions: ['read', 'write'] })
    await expectError(t, app, 'update_permission', { id: 'acme/edit-docs', roles: ['acme/ghost'] }, who.orgAdmin, /does not exist/)
    await expectError(t, app, 'update_permission', { id: 'other/other-perm', description: 'x' }, who.orgAdmin, /not found/)

    await expectError(t, app, 'delete_permission', { id: 'acme/edit-docs' }, who.alice, /not found/)
    await expectError(t, app, 'delete_permission', { id: 'other/other-perm' }, who.orgAdmin, /not found/)
    const { permission: deleted } = await expectOk(t, app, 'delete_permission', { id: 'acme/no-delete' }, who.orgAdmin)
    t.equal(deleted.id, 'acme/no-delete')
    await expectError(t, app, 'delete_permission', { id: 'acme/no-delete' }, who.orgAdmin, /not found/)
  })

  t.test('delete_role: takes it from its holders', async (t) => {
    await expectError(t, app, 'delete_role', { id: 'acme/editor' }, who.alice, /not found/)
    await expectError(t, app, 'delete_role', { id: 'other/viewer' }, who.orgAdmin, /not found/)
    const { role } = await expectOk(t, app, 'delete_role', { id: 'acme/editor' }, who.orgAdmin)
    t.equal(role.id, 'acme/editor')
    t.same(await app.store.roles.ofUser('acme/alice'), [], 'no one holds it any more')
    await expectError(t, app, 'delete_role', { id: 'acme/editor' }, who.orgAdmin, /not found/)
  })
})
