import { test, type Test } from 'tap'
import { sql } from 'kysely'
import { createDatabase, migrate, type DatabaseHandle } from '../../lib/storage/db.js'
import { migrationProvider } from '../../lib/storage/migrations.js'
import { Store } from '../../lib/storage/store.js'
import { StoreError } from '../../lib/storage/errors.js'
import { readConfig } from '../../lib/config.js'
import { bootstrap } from '../../lib/bootstrap.js'
import { createPostgresDatabase, createSqliteDatabase, requirePostgres } from '../helper.js'

async function openStore (t: Test, url: string): Promise<{ handle: DatabaseHandle, store: Store }> {
  const config = readConfig({ DATABASE_URL: url, IAM_BOOTSTRAP_ADMIN_PASSWORD: 'bootstrap-password', IAM_BOOTSTRAP_CLIENT_SECRET: 'bootstrap-secret-0123456789' })
  const handle = createDatabase(config.database)
  t.teardown(() => handle.close())
  const store = new Store(handle.db, handle.engine)
  await migrate(handle, () => bootstrap(store, config, () => {}))
  return { handle, store }
}

async function rejectsWith (t: Test, promise: Promise<unknown>, code: StoreError['code'], message?: RegExp, what = `rejects with ${code}`): Promise<void> {
  await t.rejects(promise, { name: 'StoreError', code, ...(message ? { message } : {}) }, what)
}

async function repositorySuite (t: Test, url: () => Promise<string>): Promise<void> {
  const { handle, store } = await openStore(t, await url())

  await t.test('migrations are recorded and a second run changes nothing', async (t) => {
    const before = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(handle.db)
    t.same(before.rows.map(r => r.name), Object.keys(await migrationProvider.getMigrations()).sort())
    t.ok(before.rows.some(r => r.name === '0003_session_digests'))
    t.ok(before.rows.some(r => r.name === '0004_user_name_skeletons'))
    await migrate(handle)
    const after = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(handle.db)
    t.same(after.rows, before.rows)
  })

  await t.test('organizations: create, read, update, delete, conflicts', async (t) => {
    const org = await store.organizations.create({ name: 'acme', displayName: 'Acme' })
    t.match(org, { id: 'admin/acme', owner: 'admin', name: 'acme', displayName: 'Acme' })
    t.same(await store.organizations.get('admin/acme'), org)
    t.same(await store.organizations.get('acme'), org)
    await rejectsWith(t, store.organizations.create({ name: 'acme' }), 'conflict', /organization "acme" already exists/)
    const updated = await store.organizations.update('admin/acme', { displayName: 'Acme Inc.' })
    t.equal(updated.displayName, 'Acme Inc.')
    await rejectsWith(t, store.organizations.get('admin/nope'), 'not_found', /not found/)
    await store.users.create({ owner: 'acme', name: 'wile' })
    await rejectsWith(t, store.organizations.delete('admin/acme'), 'conflict', /cascade/)
    await store.organizations.delete('admin/acme', true)
    await rejectsWith(t, store.users.get('acme/wile'), 'not_found')
    await rejectsWith(t, store.organizations.get('acme'), 'not_found')
  })

  await t.test('users: hashing, look-alike names, updates, last admin', async (t) => {
    await store.organizations.create({ name: 'org1' })
    const user = await store.users.create({ owner: 'org1', name: 'Alice', password: 'correct horse', email: 'a@example.com' })
    t.match(user, { id: 'org1/Alice', hasPassword: true, isAdmin: false, isForbidden: false, email: 'a@example.com' })
    t.notOk('passwordHash' in user || 'password_hash' in user, 'no hash in the model')
    const row = await handle.db.selectFrom('users').select('password_hash').where('id', '=', 'org1/Alice').executeTakeFirstOrThrow()
    t.match(row.password_hash, /^scrypt\$/)
    t.notMatch(row.password_hash, /correct horse/)
    await rejectsWith(t, store.users.create({ owner: 'org1', name: 'ALICE' }), 'conflict', /look-alike/)
    await rejectsWith(t, store.users.create({ owner: 'org1', name: 'ａｌｉｃｅ' }), 'conflict', undefined, 'full-width look-alike')
    await rejectsWith(t, store.users.create({ owner: 'missing', name: 'bob' }), 'not_found', /organization/)
    t.ok(await store.users.authenticate('org1', 'alice', 'correct horse'), 'case-folded login')
    t.notOk(await store.users.authenticate('org1', 'alice', 'wrong'))
    t.notOk(await store.users.authenticate('org1', 'nobody', 'correct horse'))
    const forbidden = await store.users.update('org1/Alice', { isForbidden: true, displayName: 'Al' })
    t.match(forbidden, { isForbidden: true, displayName: 'Al' })
    t.notOk(await store.users.authenticate('org1', 'alice', 'correct horse'), 'a forbidden user cannot log in')
    t.equal(await store.users.countGlobalAdmins(), 1)
    await rejectsWith(t, store.users.update('built-in/admin', { isForbidden: true }), 'conflict', /last global admin/)
    await rejectsWith(t, store.users.delete('built-in/admin'), 'conflict', /last global admin/)
    await store.users.delete('org1/Alice')
    await rejectsWith(t, store.users.get('org1/Alice'), 'not_found')
  })

  await t.test('users: listing pages through everything once, with filter', async (t) => {
    await store.organizations.create({ name: 'paging' })
    for (let i = 0; i < 7; i++) await store.users.create({ owner: 'paging', name: `user${i}`, email: i === 3 ? 'special@example.com' : '' })
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await store.users.list({ owner: 'paging', limit: 3, cursor })
      t.ok(page.items.length <= 3)
      seen.push(...page.items.map(u => u.name))
      cursor = page.nextCursor
    } while (cursor !== undefined)
    t.same(seen, ['user0', 'user1', 'user2', 'user3', 'user4', 'user5', 'user6'])
    const filtered = await store.users.list({ owner: 'paging', filter: 'SPECIAL' })
    t.same(filtered.items.map(u => u.name), ['user3'])
    const percent = await store.users.list({ owner: 'paging', filter: '%' })
    t.same(percent.items, [], 'LIKE wildcards in a filter are literal')
    await rejectsWith(t, store.users.list({ cursor: 'garbage' }), 'invalid', /cursor/)
    await rejectsWith(t, store.users.list({ limit: 501 }), 'invalid', /limit/)
  })

  await t.test('applications: secrets only as digests, constant-time check', async (t) => {
    const { application, clientSecret } = await store.applications.create({ owner: 'built-in', name: 'svc', scopes: ['user:read'] })
    t.type(clientSecret, 'string')
    t.match(application, { id: 'built-in/svc', scopes: ['user:read'], grantTypes: ['client_credentials'], isDisabled: false })
    const row = await handle.db.selectFrom('applications').selectAll().where('name', '=', 'svc').executeTakeFirstOrThrow()
    t.not(row.client_secret_digest, clientSecret)
    t.ok(await store.applications.authenticate(application.clientId, clientSecret!))
    t.notOk(await store.applications.authenticate(application.clientId, 'wrong'))
    t.notOk(await store.applications.authenticate('unknown', clientSecret!))
    await rejectsWith(t, store.applications.create({ owner: 'built-in', name: 'svc' }), 'conflict')
    const rotated = await store.applications.rotateSecret('built-in/svc')
    t.notOk(await store.applications.authenticate(application.clientId, clientSecret!), 'old secret stops working')
    t.ok(await store.applications.authenticate(application.clientId, rotated.clientSecret))
    const disabled = await store.applications.update('built-in/svc', { isDisabled: true, scopes: ['user:read', 'user:write'] })
    t.match(disabled, { isDisabled: true, scopes: ['user:read', 'user:write'] })
    const pub = await store.applications.create({ owner: 'built-in', name: 'spa', tokenEndpointAuthMethod: 'none', redirectUris: ['http://127.0.0.1/cb'] })
    t.equal(pub.clientSecret, undefined)
    await rejectsWith(t, store.applications.rotateSecret('built-in/spa'), 'invalid', /public client/)
    await store.applications.delete('built-in/svc')
    t.equal(await store.applications.findByName('svc'), undefined)
  })

  await t.test('roles and permissions', async (t) => {
    await store.organizations.create({ name: 'rbac' })
    await store.users.create({ owner: 'rbac', name: 'carol' })
    const role = await store.roles.create({ owner: 'rbac', name: 'editor', description: 'edits' })
    t.match(role, { id: 'rbac/editor', description: 'edits' })
    await store.roles.assign('rbac/carol', 'rbac/editor')
    await rejectsWith(t, store.roles.assign('rbac/carol', 'rbac/editor'), 'conflict')
    await rejectsWith(t, store.roles.assign('rbac/nobody', 'rbac/editor'), 'not_found')
    t.same(await store.roles.ofUser('rbac/carol'), ['rbac/editor'])
    t.same(await store.roles.members('rbac/editor'), ['rbac/carol'])
    await store.roles.unassign('rbac/carol', 'rbac/editor')
    await rejectsWith(t, store.roles.unassign('rbac/carol', 'rbac/editor'), 'not_found')
    t.equal((await store.roles.update('rbac/editor', { displayName: 'Editor' })).displayName, 'Editor')
    const perm = await store.permissions.create({ owner: 'rbac', name: 'write-docs', roles: ['rbac/editor'], resources: ['docs'], actions: ['write'] })
    t.match(perm, { effect: 'allow', roles: ['rbac/editor'], actions: ['write'] })
    await rejectsWith(t, store.permissions.create({ owner: 'rbac', name: 'write-docs' }), 'conflict')
    t.equal((await store.permissions.update('rbac/write-docs', { effect: 'deny' })).effect, 'deny')
    t.equal((await store.permissions.list({ owner: 'rbac' })).items.length, 1)
    await store.permissions.delete('rbac/write-docs')
    await store.roles.delete('rbac/editor')
    await rejectsWith(t, store.roles.get('rbac/editor'), 'not_found')
  })

  await t.test('tokens, sessions, codes, consents, audit, settings, keys, change feed', async (t) => {
    const changes: string[] = []
    store.changes.on('change', c => changes.push(`${c.kind}:${c.ref}`))
    const now = Date.now()
    const base = { kind: 'refresh' as const, subject: 'built-in/admin', subjectKind: 'user' as const, clientId: 'c', scope: 'user:read', audience: 'http://x', sessionId: null, codeId: 'code1', expiresAt: now + 60000 }
    await store.tokens.insert({ ...base, id: 't1', familyId: 'f1' })
    await store.tokens.insert({ ...base, id: 't2', familyId: 'f1' })
    await rejectsWith(t, store.tokens.insert({ ...base, id: 't1', familyId: null }), 'conflict')
    t.equal(await store.tokens.markUsed('t1'), true)
    t.equal(await store.tokens.markUsed('t1'), false, 'a second use is a replay')
    t.equal(await store.tokens.revokeFamily('f1'), 2)
    t.equal(await store.tokens.revokeFamily('f1'), 0, 'already revoked')
    t.same((await store.tokens.revokedUnexpired()).sort(), ['t1', 't2'])
    t.same(changes.filter(c => c.startsWith('tokens.revoked')), ['tokens.revoked:family_id:f1'], 'one change for the family')
    const feed = await store.changes.since(now - 1000)
    t.ok(feed.some(c => c.kind === 'tokens.revoked' && c.ref === 'family_id:f1'), 'other instances see it in the feed')
    t.same((await store.tokens.revokedIn('family_id', 'f1')).sort(), ['t1', 't2'], 'and resolve it to its tokens')
    t.equal((await store.tokens.list({ subject: 'built-in/admin' })).items.length, 2)

    const session = await store.sessions.create({ userId: 'built-in/admin', userAgent: 'ua', ip: '127.0.0.1', ttlSeconds: 60 })
    t.ok(await store.sessions.findActive(session.id))
    t.same(await store.sessions.end(session.id), { revokedTokens: 0 })
    t.equal(await store.sessions.end(session.id), undefined)
    t.equal(await store.sessions.findActive(session.id), undefined)

    await store.codes.insert({ id: 'code-digest', clientId: 'c', userId: 'built-in/admin', sessionId: null, redirectUri: 'http://127.0.0.1/cb', scope: 'user:read', resource: 'http://x', codeChallenge: 'abc', nonce: null, expiresAt: now + 60000 })
    t.match(await store.codes.consume('code-digest'), { used: false, code: { clientId: 'c' } })
    t.match(await store.codes.consume('code-digest'), { used: true })
    t.equal(await store.codes.consume('nope'), undefined)

    t.same(await store.consents.get('u', 'c'), [])
    await store.consents.grant('u', 'c', ['a:read'])
    await store.consents.grant('u', 'c', ['a:read', 'b:read'])
    t.same(await store.consents.get('u', 'c'), ['a:read', 'b:read'])

    await store.audit.insertMany([1, 2, 3].map(i => ({ id: `e${i}`, at: now + i, principal: 'p', principalKind: 'user', organization: 'built-in', clientId: '', tool: i === 2 ? 'add_user' : 'get_users', outcome: 'success' as const, durationMs: 1.5, arguments: { i }, error: '' })))
    const first = await store.audit.list({ limit: 2 })
    t.same(first.items.map(e => e.id), ['e3', 'e2'], 'newest first')
    const second = await store.audit.list({ limit: 2, cursor: first.nextCursor })
    t.same(second.items.map(e => e.id), ['e1'])
    t.same((await store.audit.list({ tool: 'add_user' })).items[0].arguments, { i: 2 })

    // A large batch goes in fixed-size statements (32, 16, … rows), all in one transaction.
    const batch = Array.from({ length: 77 }, (_, i) => ({ id: `b${String(i).padStart(3, '0')}`, at: now + 100 + i, principal: 'p', principalKind: 'user', organization: 'built-in', clientId: 'c', tool: 'get_roles', outcome: 'error' as const, durationMs: i / 4, arguments: { i, s: 'é"\\' }, error: `e${i}` }))
    await store.audit.insertMany(batch)
    const stored = await store.audit.list({ tool: 'get_roles', limit: 500 })
    t.same(stored.items.map(e => e.id), batch.map(e => e.id).reverse(), 'every event of a 77-event batch, once')
    t.match(stored.items[0], { id: 'b076', principal: 'p', principalKind: 'user', clientId: 'c', outcome: 'error', durationMs: 19, arguments: { i: 76, s: 'é"\\' }, error: 'e76' })
    const clash = [...Array.from({ length: 40 }, (_, i) => ({ ...batch[0], id: `c${i}` })), batch[5]]
    await rejectsWith(t, store.audit.insertMany(clash), 'conflict', undefined, 'a batch with an id already stored is refused')
    t.same((await store.audit.list({ tool: 'get_roles', limit: 500 })).items.length, 77, 'and none of it was kept')

    const a = await store.settings.getOrCreate('k', () => 'first')
    const b = await store.settings.getOrCreate('k', () => 'second')
    t.same([a, b], [{ value: 'first', created: true }, { value: 'first', created: false }])

    const keys = await store.signingKeys.list()
    t.equal(keys.filter(k => k.retiredAt === null).length, 1, 'bootstrap made one current key')

    const locked = []
    for (let i = 0; i < 3; i++) locked.push(await store.loginFailures.fail('built-in/x', 3, 60))
    t.equal(locked[1].lockedUntil, 0)
    t.ok(locked[2].lockedUntil > Date.now(), 'third failure locks')
    await store.loginFailures.reset('built-in/x')
    t.equal(await store.loginFailures.lockedUntil('built-in/x'), 0)
  })

  await t.test('one-time values: claimed once per kind, at once too; purged in bounded batches', async (t) => {
    const soon = Date.now() + 60_000
    const claims = await Promise.all([1, 2, 3, 4].map(() => store.usedValues.claim('dpop', 'jti-1', soon)))
    t.same(claims.filter(Boolean).length, 1, 'exactly one of four concurrent claims wins')
    t.equal(await store.usedValues.claim('client_assertion', 'jti-1', soon), true, 'another kind is another value')
    t.equal(await store.usedValues.claim('dpop', 'jti-1', soon), false, 'a replay later is refused too')
    for (let i = 0; i < 5; i++) await store.usedValues.claim('dpop', `old-${i}`, Date.now() - 1000)
    t.equal(await store.usedValues.purgeExpired(Date.now(), 3), 3, 'at most the limit per call')
    t.equal(await store.usedValues.purgeExpired(Date.now(), 3), 2)
    t.equal(await store.usedValues.purgeExpired(Date.now(), 3), 0)
    t.equal(await store.usedValues.claim('dpop', 'jti-1', soon), false, 'live values are kept')
    t.equal(await store.usedValues.claim('dpop', 'old-0', soon), true, 'a purged value may be seen again (it would be refused for its age)')
  })

  await t.test('applications: the 2026 client fields round-trip; a secretless method drops the secret', async (t) => {
    const jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' }] }
    const { application, clientSecret } = await store.applications.create({ owner: 'built-in', name: 'pkjwt-app', tokenEndpointAuthMethod: 'private_key_jwt', jwks, applicationType: 'native', dpopBoundAccessTokens: true })
    t.equal(clientSecret, undefined, 'private_key_jwt clients get no secret')
    t.same(application.jwks, jwks)
    t.equal(application.applicationType, 'native')
    t.equal(application.dpopBoundAccessTokens, true)
    t.equal(application.isMetadataDocument, false)
    await rejectsWith(t, store.applications.rotateSecret(application.id), 'invalid', /private_key_jwt/)
    const { application: basic, clientSecret: secret } = await store.applications.create({ owner: 'built-in', name: 'basic-app' })
    t.ok(await store.applications.authenticate(basic.clientId, secret ?? ''))
    const moved = await store.applications.update(basic.id, { tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'https://keys.example/jwks', jwks: null })
    t.equal(moved.jwksUri, 'https://keys.example/jwks')
    t.equal(await store.applications.authenticate(basic.clientId, secret ?? ''), undefined, 'the old secret stops working')
  })
}

test('SQLite: repositories', async (t) => {
  await repositorySuite(t, async () => createSqliteDatabase(t))
})

test('PostgreSQL: repositories', async (t) => {
  if (!await requirePostgres(t)) return
  await repositorySuite(t, () => createPostgresDatabase(t))
})

test('PostgreSQL: two instances migrating and bootstrapping at once do not race', async (t) => {
  if (!await requirePostgres(t)) return
  const url = await createPostgresDatabase(t)
  const printed: string[] = []
  const config = readConfig({ DATABASE_URL: url })
  const handles = [createDatabase(config.database), createDatabase(config.database), createDatabase(config.database)]
  t.teardown(() => Promise.all(handles.map(h => h.close())))
  await Promise.all(handles.map(h => migrate(h, () => bootstrap(new Store(h.db, h.engine), config, line => printed.push(line)))))
  const db = handles[0].db
  const count = async (table: 'organizations' | 'users' | 'applications' | 'signing_keys' | 'settings'): Promise<number> =>
    Number((await db.selectFrom(table).select(eb => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)
  t.equal(await count('organizations'), 1)
  t.equal(await count('users'), 1)
  t.equal(await count('applications'), 1)
  t.equal(await count('signing_keys'), 1)
  t.equal(await count('settings'), 1, 'one secret-digest key shared by every instance')
  t.equal(printed.filter(l => /admin/.test(l) && /password/.test(l)).length, 1, 'the admin password is printed once')
  const migrations = await sql<{ name: string }>`select name from kysely_migration`.execute(db)
  t.equal(migrations.rows.length, Object.keys(await migrationProvider.getMigrations()).length, 'each migration once')
})

test('uuidv7: RFC 9562 version 7, time first, unique', async (t) => {
  const { uuidv7 } = await import('../../lib/crypto.js')
  const at = Date.parse('2026-11-27T04:00:00.123Z')
  const id = uuidv7(at)
  t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), at, 'the first 48 bits are the time in ms')
  const many = Array.from({ length: 2000 }, (_, i) => uuidv7(at + i))
  t.equal(new Set(many).size, many.length, 'no repeats (the pool is refilled on the way)')
  t.same([...many].sort(), many, 'later times sort later')
})
