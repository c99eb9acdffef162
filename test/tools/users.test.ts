import { test } from 'tap'
import { ADMIN, build } from '../helper.js'
import { verifyPassword } from '../../lib/crypto.js'
import { expectError, expectOk, seed } from './context.js'

test('user tools', async (t) => {
  const app = await build(t)
  const who = await seed(t, app)

  t.test('add_user: where each caller may create users', async (t) => {
    const { user } = await expectOk(t, app, 'add_user', { owner: 'acme', name: 'bob', password: 'bob-password', displayName: 'Bob', email: 'bob@acme.test', phone: '+1 555 0100' }, who.orgAdmin)
    t.match(user, { id: 'acme/bob', owner: 'acme', name: 'bob', displayName: 'Bob', email: 'bob@acme.test', phone: '+1 555 0100', isAdmin: false, isForbidden: false, hasPassword: true })
    t.notOk('password' in user, 'no password in the result')
    const stored = await app.store.db.selectFrom('users').select('password_hash').where('id', '=', 'acme/bob').executeTakeFirstOrThrow()
    t.ok(stored.password_hash !== null && await verifyPassword('bob-password', stored.password_hash), 'the password is stored hashed')

    const { user: nopass } = await expectOk(t, app, 'add_user', { owner: 'acme', name: 'carol' }, who.acmeApp)
    t.equal(nopass.hasPassword, false, 'an application of the organization may add users; no password given')
    await expectOk(t, app, 'add_user', { owner: 'acme', name: 'dave', isAdmin: true }, who.orgAdmin)

    await expectError(t, app, 'add_user', { owner: 'other', name: 'mallory' }, who.orgAdmin, /only create users in your own organization "acme"/)
    await expectError(t, app, 'add_user', { owner: 'built-in', name: 'root', isAdmin: true }, who.orgAdmin, /own organization/)
    await expectError(t, app, 'add_user', { owner: 'built-in', name: 'root', isAdmin: true }, who.acmeApp, /own organization/)
    await expectError(t, app, 'add_user', { owner: 'acme', name: 'eve' }, who.alice, /only an administrator/)
    await expectError(t, app, 'add_user', { owner: 'nope', name: 'eve' }, who.global, /organization "nope" not found/)
  })

  t.test('add_user: duplicates and look-alikes conflict', async (t) => {
    await expectError(t, app, 'add_user', { owner: 'acme', name: 'bob' }, who.global, /already exists/)
    await expectError(t, app, 'add_user', { owner: 'built-in', name: 'Admin' }, who.global, /already exists/)
    await expectError(t, app, 'add_user', { owner: 'built-in', name: 'ａｄｍｉｎ' }, who.global, /already exists/)
    const { user } = await expectOk(t, app, 'add_user', { owner: 'acme', name: 'ａｄｍｉｎ' }, who.global)
    t.equal(user.id, 'acme/ａｄｍｉｎ', 'the same name in another organization is fine')
    // Confusables (Unicode TR39 skeletons): a Cyrillic а, a dotless ı.
    await expectError(t, app, 'add_user', { owner: 'built-in', name: '\u0430dmin' }, who.global, /already exists/)
    await expectError(t, app, 'add_user', { owner: 'built-in', name: 'adm\u0131n' }, who.global, /already exists/)
    await expectError(t, app, 'add_user', { owner: 'built-in', name: '\u0410DMIN' }, who.global, /already exists/)
    await expectOk(t, app, 'add_user', { owner: 'built-in', name: 'p\u0430ypal' }, who.global)
    await expectError(t, app, 'add_user', { owner: 'built-in', name: 'paypal' }, who.global, /already exists/)
    const login = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'admin', password: ADMIN.password } })
    t.equal(login.statusCode, 200, 'the canonical name still signs in')
  })

  t.test('add_user: bad input is refused with the field named', async (t) => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ owner: 'acme', name: 'a/b' }, /name/],
      [{ owner: 'acme', name: '..' }, /name/],
      [{ owner: 'acme', name: 'with space' }, /name/],
      [{ owner: 'acme', name: '' }, /name/],
      [{ owner: 'acme', name: 'x'.repeat(65) }, /name/],
      [{ owner: 'acme', name: 'a／b' }, /reserved character/],
      [{ owner: 'acme', name: 'ad\u200bmin' }, /name/],
      [{ owner: 'acme', name: 'admin\ufe0f' }, /invisible/],
      [{ owner: 'acme', name: '\u3164admin' }, /invisible/],
      [{ owner: '../acme', name: 'x' }, /owner/],
      [{ owner: 'acme', name: 'x', email: 'not-an-email' }, /email/],
      [{ owner: 'acme', name: 'x', phone: 'call me' }, /phone/],
      [{ owner: 'acme', name: 'x', password: 'short' }, /password/],
      [{ owner: 'acme', name: 'x', isAdmin: 'yes' }, /isAdmin/],
      [{ owner: 'acme', name: 'x', passwordHash: 'scrypt$...' }, /passwordHash|additional/i]
    ]
    for (const [args, message] of bad) await expectError(t, app, 'add_user', args, who.global, message)
  })

  t.test('get_user: self, own organization, and hidden elsewhere', async (t) => {
    const self = await expectOk(t, app, 'get_user', { id: 'acme/alice' }, who.alice)
    t.match(self, { user: { id: 'acme/alice', email: 'alice@acme.test', hasPassword: true }, roles: [] })
    await expectOk(t, app, 'get_user', { id: 'acme/alice' }, who.orgAdmin)
    await expectOk(t, app, 'get_user', { id: 'acme/alice' }, who.acmeApp)
    await expectOk(t, app, 'get_user', { id: 'other/olga' }, who.global)
    const hidden = await expectError(t, app, 'get_user', { id: 'acme/bob' }, who.alice, /not found/)
    t.equal(hidden, 'user "acme/bob" not found', 'another user reads as missing to a plain user')
    const elsewhere = await expectError(t, app, 'get_user', { id: 'other/olga' }, who.orgAdmin, /not found/)
    const missing = await expectError(t, app, 'get_user', { id: 'acme/nobody' }, who.orgAdmin, /not found/)
    t.equal(elsewhere.replace('other/olga', 'X'), missing.replace('acme/nobody', 'X'), 'same answer whether hidden or missing')
    await expectError(t, app, 'get_user', { id: 'built-in/admin' }, who.orgAdmin, /not found/)
    await expectError(t, app, 'get_user', { id: 'no-slash' }, who.global, /id/)
  })

  t.test('get_users: filter, paging, and what each caller sees', async (t) => {
    const all = await expectOk(t, app, 'get_users', {}, who.global)
    t.ok(all.items.length >= 8)
    t.ok(all.items.some((u: { id: string }) => u.id === 'other/olga'))
    const acme = await expectOk(t, app, 'get_users', { owner: 'acme' }, who.global)
    t.ok(acme.items.every((u: { owner: string }) => u.owner === 'acme'))
    const byEmail = await expectOk(t, app, 'get_users', { filter: 'ALICE@acme' }, who.global)
    t.same(byEmail.items.map((u: { id: string }) => u.id), ['acme/alice'], 'filter matches e-mail, case-insensitively')
    const byDisplay = await expectOk(t, app, 'get_users', { filter: 'Bob' }, who.global)
    t.same(byDisplay.items.map((u: { id: string }) => u.id), ['acme/bob'])
    const percent = await expectOk(t, app, 'get_users', { filter: '%' }, who.global)
    t.same(percent.items, [], 'LIKE wildcards are literal')

    const ids: string[] = []
    let cursor: string | undefined
    do {
      const page = await expectOk(t, app, 'get_users', { owner: 'acme', limit: 2, ...(cursor === undefined ? {} : { cursor }) }, who.orgAdmin)
      t.ok(page.items.length <= 2)
      ids.push(...page.items.map((u: { id: string }) => u.id))
      cursor = page.nextCursor
    } while (cursor !== undefined)
    t.same(ids, acme.items.map((u: { id: string }) => u.id), 'paging walks the whole organization once')

    const forced = await expectOk(t, app, 'get_users', {}, who.orgAdmin)
    t.ok(forced.items.length > 0 && forced.items.every((u: { owner: string }) => u.owner === 'acme'), 'an organization admin only sees its organization')
    t.same((await expectOk(t, app, 'get_users', { owner: 'other' }, who.orgAdmin)).items, [], 'another organization lists nothing')
    t.same((await expectOk(t, app, 'get_users', { owner: 'built-in' }, who.acmeApp)).items, [])

    const self = await expectOk(t, app, 'get_users', {}, who.alice)
    t.same(self.items.map((u: { id: string }) => u.id), ['acme/alice'], 'a plain user lists only itself')
    t.same((await expectOk(t, app, 'get_users', { filter: 'bob' }, who.alice)).items, [])
    t.same((await expectOk(t, app, 'get_users', { owner: 'other' }, who.alice)).items, [])
    t.same((await expectOk(t, app, 'get_users', { cursor: self.nextCursor ?? 'eyJrIjoiYSJ9' }, who.alice)).items, [])
  })

  t.test('update_user: a plain user changes only its own profile', async (t) => {
    const { user } = await expectOk(t, app, 'update_user', { id: 'acme/alice', displayName: 'Alice A.', phone: '+44 20 7946 0000', password: 'new-alice-password' }, who.alice)
    t.match(user, { displayName: 'Alice A.', phone: '+44 20 7946 0000', email: 'alice@acme.test', isAdmin: false })
    t.ok(await app.store.users.authenticate('acme', 'alice', 'new-alice-password'), 'the new password works')
    await expectError(t, app, 'update_user', { id: 'acme/alice', isAdmin: true }, who.alice, /not isAdmin/)
    await expectError(t, app, 'update_user', { id: 'acme/alice', isForbidden: false }, who.alice, /not isForbidden/)
    await expectError(t, app, 'update_user', { id: 'acme/bob', displayName: 'x' }, who.alice, /not found/)
    await expectError(t, app, 'update_user', { id: 'acme/alice', email: 'bad' }, who.alice, /email/)
  })

  t.test('update_user: administrators within their reach', async (t) => {
    const { user } = await expectOk(t, app, 'update_user', { id: 'acme/alice', isAdmin: true }, who.orgAdmin)
    t.equal(user.isAdmin, true, 'an organization admin may make admins of its own organization')
    await expectOk(t, app, 'update_user', { id: 'acme/alice', isAdmin: false }, who.orgAdmin)
    await expectError(t, app, 'update_user', { id: 'other/olga', displayName: 'x' }, who.orgAdmin, /not found/)
    await expectError(t, app, 'update_user', { id: 'built-in/admin', isAdmin: false }, who.orgAdmin, /not found/)
    await expectError(t, app, 'update_user', { id: 'built-in/admin', isForbidden: true }, who.acmeApp, /not found/)
    await expectError(t, app, 'update_user', { id: 'acme/nobody', displayName: 'x' }, who.global, /not found/)
  })

  t.test('update_user: forbidding ends sessions and revokes tokens', async (t) => {
    const session = await app.store.sessions.create({ userId: 'acme/bob', userAgent: 'test', ip: '127.0.0.1', ttlSeconds: 3600 })
    await app.store.tokens.insert({ id: 'bob-token', kind: 'access', subject: 'acme/bob', subjectKind: 'user', clientId: 'c', scope: 'user:read', audience: 'x', familyId: null, sessionId: null, codeId: null, expiresAt: Date.now() + 60000 })
    const { user } = await expectOk(t, app, 'update_user', { id: 'acme/bob', isForbidden: true }, who.orgAdmin)
    t.equal(user.isForbidden, true)
    t.equal(await app.store.sessions.findActive(session.id), undefined, 'the session ended')
    t.not((await app.store.tokens.find('bob-token'))?.revokedAt ?? null, null, 'the token is revoked')
    t.equal(await app.store.users.authenticate('acme', 'bob', 'bob-password'), undefined, 'a forbidden user cannot log in')
    await expectOk(t, app, 'update_user', { id: 'acme/bob', isForbidden: false }, who.orgAdmin)
  })

  t.test('the last global admin can be neither forbidden, demoted nor deleted', async (t) => {
    await expectError(t, app, 'update_user', { id: 'built-in/admin', isForbidden: true }, who.global, /last global admin/)
    await expectError(t, app, 'update_user', { id: 'built-in/admin', isAdmin: false }, who.builtInApp, /last global admin/)
    await expectError(t, app, 'delete_user', { id: 'built-in/admin' }, who.global, /last global admin/)
    t.equal((await app.store.users.get('built-in/admin')).isAdmin, true)

    await expectOk(t, app, 'add_user', { owner: 'built-in', name: 'second', isAdmin: true }, who.global)
    const { user } = await expectOk(t, app, 'update_user', { id: 'built-in/second', isForbidden: true }, who.global)
    t.equal(user.isForbidden, true, 'with another active global admin it is allowed')
    await expectError(t, app, 'delete_user', { id: 'built-in/admin' }, who.global, /last global admin/)
    await expectOk(t, app, 'update_user', { id: 'built-in/second', isForbidden: false }, who.global)
    await expectOk(t, app, 'delete_user', { id: 'built-in/second' }, who.global)
  })

  t.test('delete_user: administrators only, within reach', async (t) => {
    await expectError(t, app, 'delete_user', { id: 'acme/alice' }, who.alice, /only an administrator/)
    await expectError(t, app, 'delete_user', { id: 'other/olga' }, who.orgAdmin, /not found/)
    await app.store.roles.create({ owner: 'acme', name: 'dev' })
    await app.store.roles.assign('acme/carol', 'acme/dev')
    await app.store.tokens.insert({ id: 'carol-token', kind: 'access', subject: 'acme/carol', subjectKind: 'user', clientId: 'c', scope: 'user:read', audience: 'x', familyId: null, sessionId: null, codeId: null, expiresAt: Date.now() + 60000 })
    const { user } = await expectOk(t, app, 'delete_user', { id: 'acme/carol' }, who.orgAdmin)
    t.equal(user.id, 'acme/carol')
    t.equal(await app.store.users.find('acme/carol'), undefined)
    t.same(await app.store.roles.members('acme/dev'), [], 'its role assignments are gone')
    t.not((await app.store.tokens.find('carol-token'))?.revokedAt ?? null, null, 'its tokens are revoked')
    await expectError(t, app, 'delete_user', { id: 'acme/carol' }, who.orgAdmin, /not found/)
  })
})
