import { test } from 'tap'
import { Migrator } from 'kysely'
import { createDatabase, migrate } from '../../lib/storage/db.js'
import { migrationProvider } from '../../lib/storage/migrations.js'
import { foldedNameKey, nameKey } from '../../lib/storage/name-key.js'
import { Store } from '../../lib/storage/store.js'
import { StoreError } from '../../lib/storage/errors.js'
import { readConfig } from '../../lib/config.js'
import { hashPassword } from '../../lib/crypto.js'
import { testDatabaseUrl } from '../helper.js'

test('nameKey: the TR39 skeleton of the NFKC-case-folded name', async (t) => {
  const admin = nameKey('admin')
  for (const lookAlike of ['Admin', 'ADMIN', 'ａｄｍｉｎ', '\u0430dmin', 'adm\u0131n', '\u0410DMIN', 'adrnin']) {
    t.equal(nameKey(lookAlike), admin, `${JSON.stringify(lookAlike)} is admin`)
  }
  t.not(nameKey('admins'), admin)
  t.not(nameKey('bob'), nameKey('rob'))
  t.equal(foldedNameKey('ＡＤＭＩＮ'), 'admin')
})

test('migration 0004: an existing look-alike pair survives, each still signs in by its own name', async (t) => {
  const config = readConfig({ DATABASE_URL: await testDatabaseUrl(t) })
  const handle = createDatabase(config.database)
  t.teardown(() => handle.close())
  const { db } = handle

  // The schema as it was before skeletons, with users the old keys let in side by side.
  const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('0002_code_replay_marker')
  t.error(error)
  const now = Date.now()
  await db.insertInto('organizations').values({ id: 'admin/built-in', owner: 'admin', name: 'built-in', display_name: 'built-in', website_url: '', created_at: now, updated_at: now }).execute()
  const names = ['admin', '\u0430dmin', 'adm\u0131n', 'bob']
  for (const [i, name] of names.entries()) {
    await db.insertInto('users').values({
      id: `built-in/${name}`,
      owner: 'built-in',
      name,
      name_key: foldedNameKey(name),
      display_name: name,
      email: '',
      phone: '',
      password_hash: await hashPassword(`${name}-password`),
      is_admin: 0,
      is_forbidden: 0,
      created_at: now + i,
      updated_at: now + i
    }).execute()
  }

  await migrate(handle)
  const rows = await db.selectFrom('users').select(['id', 'name_key']).orderBy('created_at').execute()
  t.same(rows.map(r => r.id), names.map(n => `built-in/${n}`), 'nobody is lost')
  t.same(rows.map(r => r.name_key), [
    nameKey('admin'),
    `${nameKey('admin')}/built-in/\u0430dmin`,
    `${nameKey('admin')}/built-in/adm\u0131n`,
    nameKey('bob')
  ], 'the earliest keeps the key; later look-alikes are kept apart by their ids')

  const store = new Store(db, handle.engine)
  for (const name of names) {
    t.equal((await store.users.authenticate('built-in', name, `${name}-password`))?.id, `built-in/${name}`, `${JSON.stringify(name)} signs in`)
  }
  t.equal((await store.users.authenticate('built-in', 'ADMIN', 'admin-password'))?.id, 'built-in/admin', 'a folded name reaches the key holder')
  await t.rejects(store.users.create({ owner: 'built-in', name: 'Adm\u0131n' }), StoreError, 'a new look-alike conflicts')

  // And back down: the old keys again, still unique.
  const down = await new Migrator({ db, provider: migrationProvider }).migrateTo('0002_code_replay_marker')
  t.error(down.error)
  const folded = await db.selectFrom('users').select(['name', 'name_key']).execute()
  for (const row of folded) t.equal(row.name_key, foldedNameKey(row.name))
})
