import { test } from 'tap'
import type { Principal } from '../../lib/principal.js'
import {
  assertCanCreate, assertChangeable, assertDeletable, assertUserPatch, auditOrganization, canSee, canSeeSubject,
  isBootstrapApplication, listOwner, organizationName, ownerOf, reachOf, subjectScope,
  USER_NAME_PATTERN, checkUserName, sessionHandle
} from '../../lib/tool-kit/index.js'

function principal (over: Partial<Principal>): Principal {
  const id = over.id ?? 'acme/alice'
  return { kind: 'user', id, organization: ownerOf(id), name: id.split('/')[1], isAdmin: false, isGlobalAdmin: false, clientId: null, scopes: null, via: 'test', ...over }
}

const global = principal({ id: 'built-in/admin', isAdmin: true, isGlobalAdmin: true })
const orgAdmin = principal({ id: 'acme/boss', isAdmin: true })
const alice = principal({ id: 'acme/alice' })
const acmeApp = principal({ kind: 'application', id: 'acme/acme-app' })

test('reach', async (t) => {
  t.same(reachOf(global), { level: 'all' })
  t.same(reachOf(orgAdmin), { level: 'organization', organization: 'acme' })
  t.same(reachOf(acmeApp), { level: 'organization', organization: 'acme' }, 'an application acting for itself is bounded by its organization')
  t.same(reachOf(alice), { level: 'self', organization: 'acme', userId: 'acme/alice' })
  t.equal(ownerOf('acme/x'), 'acme')
  t.equal(ownerOf('no-slash'), '')
  t.equal(organizationName('admin/acme'), 'acme')
  t.equal(organizationName('acme'), 'acme')
})

test('visibility', async (t) => {
  t.ok(canSee(global, 'user', 'other/x'))
  t.ok(canSee(orgAdmin, 'user', 'acme/x'))
  t.notOk(canSee(orgAdmin, 'user', 'other/x'))
  t.notOk(canSee(orgAdmin, 'application', 'built-in/app-built-in'))
  t.ok(canSee(alice, 'user', 'acme/alice'))
  t.notOk(canSee(alice, 'user', 'acme/boss'))
  t.notOk(canSee(alice, 'role', 'acme/editor'))
  t.ok(canSee(alice, 'organization', 'admin/acme'))
  t.notOk(canSee(alice, 'organization', 'other'))
  t.ok(canSeeSubject(orgAdmin, 'acme/acme-app'))
  t.notOk(canSeeSubject(orgAdmin, 'other/x'))
  t.ok(canSeeSubject(alice, 'acme/alice'))
  t.notOk(canSeeSubject(alice, 'acme/boss'))
})

test('changes, creation and deletion', async (t) => {
  t.throws(() => assertChangeable(orgAdmin, 'role', 'other/r'), { name: 'ToolError', kind: 'not_found', message: 'role "other/r" not found' })
  t.throws(() => assertChangeable(alice, 'organization', 'acme'), { name: 'ToolError', kind: 'forbidden' })
  t.doesNotThrow(() => assertChangeable(orgAdmin, 'organization', 'acme'))
  t.throws(() => assertCanCreate(orgAdmin, 'organization', 'x'), { name: 'ToolError', kind: 'forbidden' })
  t.doesNotThrow(() => assertCanCreate(global, 'organization', 'x'))
  t.throws(() => assertCanCreate(orgAdmin, 'user', 'built-in'), { name: 'ToolError', kind: 'forbidden', message: /own organization "acme"/ })
  t.throws(() => assertCanCreate(alice, 'user', 'acme'), { name: 'ToolError', kind: 'forbidden', message: /only an administrator/ })
  t.throws(() => assertDeletable(global, 'organization', 'built-in'), { name: 'ToolError', kind: 'forbidden' })
  t.throws(() => assertDeletable(orgAdmin, 'organization', 'acme'), { name: 'ToolError', kind: 'forbidden' })
  t.throws(() => assertDeletable(global, 'application', 'built-in/app-built-in'), { name: 'ToolError', kind: 'forbidden' })
  t.throws(() => assertDeletable(alice, 'user', 'acme/alice'), { name: 'ToolError', kind: 'forbidden' })
  t.doesNotThrow(() => assertDeletable(orgAdmin, 'user', 'acme/alice'))
  t.ok(isBootstrapApplication('built-in/app-built-in'))
  t.notOk(isBootstrapApplication('acme/app-built-in'))
})

test('a plain user patches only its own profile', async (t) => {
  t.doesNotThrow(() => assertUserPatch(alice, 'acme/alice', { displayName: 'A', email: 'a@b.c', phone: '1', password: 'xxxxxxxx', isAdmin: undefined }))
  t.throws(() => assertUserPatch(alice, 'acme/alice', { isAdmin: true }), { name: 'ToolError', kind: 'forbidden', message: /isAdmin/ })
  t.throws(() => assertUserPatch(alice, 'acme/alice', { isForbidden: false }), { name: 'ToolError', kind: 'forbidden', message: /isForbidden/ })
  t.throws(() => assertUserPatch(alice, 'acme/boss', { displayName: 'x' }), { name: 'ToolError', kind: 'not_found' })
  t.doesNotThrow(() => assertUserPatch(orgAdmin, 'acme/alice', { isAdmin: true }))
})

test('list scopes', async (t) => {
  t.same(listOwner(global, undefined), {})
  t.same(listOwner(global, 'other'), { owner: 'other' })
  t.same(listOwner(orgAdmin, undefined), { owner: 'acme' })
  t.same(listOwner(orgAdmin, 'acme'), { owner: 'acme' })
  t.equal(listOwner(orgAdmin, 'other'), null)
  t.equal(listOwner(alice, undefined), null)
  t.same(subjectScope(global, 'other'), { owner: 'other' })
  t.same(subjectScope(acmeApp, undefined), { owner: 'acme' })
  t.same(subjectScope(alice, undefined), { subject: 'acme/alice' })
  t.equal(subjectScope(alice, 'other'), null)
  t.equal(auditOrganization(global), undefined)
  t.equal(auditOrganization(orgAdmin), 'acme')
  t.throws(() => auditOrganization(alice), { name: 'ToolError', kind: 'forbidden' })
})

test('user names and session handles', async (t) => {
  const pattern = new RegExp(USER_NAME_PATTERN)
  for (const ok of ['alice', 'Ålesund', 'ａｄｍｉｎ', 'o.brien', 'x_y-z', '名前', 'bob@example.com']) t.ok(pattern.test(ok), `${ok} is a valid name`)
  for (const bad of ['a/b', '.', '..', 'a b', 'a\\b', 'a:b', 'a?b', 'a#b', '', 'x'.repeat(65), 'tab\there']) t.notOk(pattern.test(bad), `${JSON.stringify(bad)} is refused`)
  t.doesNotThrow(() => checkUserName('ａｄｍｉｎ'))
  t.throws(() => checkUserName('a／b'), { name: 'ToolError', kind: 'invalid' }, 'a full-width slash folds to "/"')
  t.throws(() => checkUserName('．．'), { name: 'ToolError', kind: 'invalid' }, 'full-width dots fold to ".."')
  for (const invisible of ['ad\u200bmin', 'admin\ufe0f', '\u3164admin', 'ad\u{E0061}min', 'admin\u034f', 'ad\u2066min', 'admin\u00ad', 'ad\uffa0min', 'ad\u{F0000}min']) {
    t.throws(() => checkUserName(invisible), { name: 'ToolError', kind: 'invalid', message: /invisible/ }, `${JSON.stringify(invisible)} holds an invisible character`)
  }
  t.doesNotThrow(() => checkUserName('josé'), 'combining accents that NFKC composes are fine')
  t.doesNotThrow(() => checkUserName('jose\u0301'), 'a decomposed accent composes under NFKC')
  t.equal(sessionHandle('abc'), sessionHandle('abc'))
  t.not(sessionHandle('abc'), sessionHandle('abd'))
  t.match(sessionHandle('abc'), /^ses_[A-Za-z0-9_-]{32}$/)
})
