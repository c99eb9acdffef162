import { test, type Test } from 'tap'
import { createDatabase, migrate } from '../../lib/storage/db.js'
import { Store } from '../../lib/storage/store.js'
import { readConfig } from '../../lib/config.js'
import { bootstrap } from '../../lib/bootstrap.js'
import { LEASE_KEY, PURGE_BATCH, RETENTION_GRACE_MS, RetentionPurger, type RetentionOptions } from '../../lib/storage/retention.js'
import { createPostgresDatabase, createSqliteDatabase, requirePostgres } from '../helper.js'

const DAY = 86_400_000
const OPTIONS: RetentionOptions = { auditRetentionDays: 30, refreshTokenTtl: 7 * 86_400, loginLockoutSeconds: 900 }

async function openStore (t: Test, url: string): Promise<Store> {
  const config = readConfig({ DATABASE_URL: url, IAM_BOOTSTRAP_ADMIN_PASSWORD: 'bootstrap-password', IAM_BOOTSTRAP_CLIENT_SECRET: 'bootstrap-secret-0123456789' })
  const handle = createDatabase(config.database)
  t.teardown(() => handle.close())
  const store = new Store(handle.db, handle.engine)
  await migrate(handle, () => bootstrap(store, config, () => {}))
  return store
}

function token (id: string, expiresAt: number, revokedAt: number | null = null) {
  return { id, kind: 'access', subject: 'built-in/admin', subject_kind: 'user', client_id: 'c', scope: '', audience: '', family_id: null, session_id: null, code_id: null, expires_at: expiresAt, created_at: expiresAt - 3600_000, revoked_at: revokedAt, used_at: null }
}

function code (id: string, expiresAt: number) {
  return { id, client_id: 'c', user_id: 'built-in/admin', session_id: null, redirect_uri: 'https://x.example/cb', scope: '', resource: '', code_challenge: 'x', nonce: null, expires_at: expiresAt, created_at: expiresAt - 60_000, used_at: expiresAt - 30_000, replayed_at: null }
}

function session (id: string, expiresAt: number, endedAt: number | null = null) {
  return { id, user_id: 'built-in/admin', user_agent: '', ip: '127.0.0.1', created_at: expiresAt - DAY, expires_at: expiresAt, ended_at: endedAt }
}

function audit (id: string, at: number) {
  return { id, at, principal: 'built-in/admin', principal_kind: 'user', organization: 'built-in', client_id: '', tool: 'get_users', outcome: 'ok', duration_ms: 1, arguments: '{}', error: '', client_kind: '' }
}

async function ids (store: Store, table: 'tokens' | 'authorization_codes' | 'sessions' | 'audit_events' | 'changes', prefix: string): Promise<string[]> {
  const rows = await store.db.selectFrom(table).select('id').where('id', 'like', `${prefix}%`).orderBy('id').execute()
  return rows.map(r => r.id)
}

async function suite (t: Test, url: () => Promise<string>): Promise<void> {
  const location = await url()
  const store = await openStore(t, location)
  const now = Date.now()
  const old = now - RETENTION_GRACE_MS - 60_000

  await t.test('rows past their time disappear; nothing live does', async (t) => {
    await store.db.insertInto('tokens').values([
      token('t-expired-long-ago', old), token('t-revoked-long-ago', old, old - 1000),
      token('t-expired-recently', now - 60_000), token('t-live', now + 3600_000), token('t-revoked-live', now + 3600_000, now - 1000)
    ]).execute()
    // More than one batch of expired tokens: the purger goes on until none is left.
    const many = Array.from({ length: PURGE_BATCH + 10 }, (_, i) => token(`tm-${String(i).padStart(5, '0')}`, old))
    for (let i = 0; i < many.length; i += 500) await store.db.insertInto('tokens').values(many.slice(i, i + 500)).execute()
    await store.db.insertInto('authorization_codes').values([
      code('c-expired-past-refresh-ttl', now - 8 * DAY), code('c-expired-within-refresh-ttl', now - 2 * DAY), code('c-live', now + 30_000)
    ]).execute()
    await store.db.insertInto('sessions').values([
      session('s-expired-long-ago', old), session('s-ended-long-ago', now + DAY, old), session('s-ended-recently', now + DAY, now - 60_000),
      session('s-open', now + DAY), session('s-expired-recently', now - 60_000)
    ]).execute()
    await store.db.insertInto('audit_events').values([audit('a-old', now - 31 * DAY), audit('a-recent', now - 29 * DAY), audit('a-now', now)]).execute()
    await store.db.insertInto('login_failures').values([
      { key: 'lf-old-count', failures: 2, first_at: old, locked_until: 0 },
      { key: 'lf-lock-lifted-long-ago', failures: 0, first_at: old - DAY, locked_until: old },
      { key: 'lf-locked-now', failures: 0, first_at: old - DAY, locked_until: now + 600_000 },
      { key: 'lf-recent-count', failures: 1, first_at: now - 60_000, locked_until: 0 }
    ]).execute()
    await store.db.insertInto('changes').values([
      { id: 'ch-old', at: now - 11 * 60_000, kind: 'user.changed', ref: 'x' }, { id: 'ch-recent', at: now - 60_000, kind: 'user.changed', ref: 'y' }
    ]).execute()

    const purger = new RetentionPurger(store, OPTIONS)
    const counts = await purger.run()
    t.match(counts, { tokens: PURGE_BATCH + 12, authorizationCodes: 1, sessions: 2, loginFailures: 2, changes: 1, auditEvents: 1 }, 'what each table lost')
    t.same(await ids(store, 'tokens', 't'), ['t-expired-recently', 't-live', 't-revoked-live'], 'tokens: expired a day ago go; recent, live and revoked-live stay')
    t.same(await ids(store, 'tokens', 'tm-'), [], 'every batch of expired tokens went')
    t.same(await ids(store, 'authorization_codes', 'c-'), ['c-expired-within-refresh-ttl', 'c-live'], 'codes stay as long as a refresh token they issued can live')
    t.same(await ids(store, 'sessions', 's-'), ['s-ended-recently', 's-expired-recently', 's-open'], 'sessions: ended or expired a day ago go')
    t.same(await ids(store, 'audit_events', 'a-'), ['a-now', 'a-recent'], 'audit events: older than AUDIT_RETENTION_DAYS go')
    const failures = (await store.db.selectFrom('login_failures').select('key').where('key', 'like', 'lf-%').orderBy('key').execute()).map(r => r.key)
    t.same(failures, ['lf-locked-now', 'lf-recent-count'], 'login failures: current locks and recent counts stay')
    t.same(await ids(store, 'changes', 'ch-'), ['ch-recent'], 'the change feed keeps its last ten minutes')
    t.equal(await store.settings.get(LEASE_KEY), `${purger.holder}:0`, 'the lease is given back')
    t.match(await purger.run(), { tokens: 0, sessions: 0, auditEvents: 0 }, 'a second run finds nothing')
  })

  await t.test('one-time values go once past their expiry, in the full run and on their own', async (t) => {
    const values = async (): Promise<string[]> => (await store.db.selectFrom('used_values').select('value').where('value', 'like', 'uv-%').orderBy('value').execute()).map(r => r.value)
    // More than a batch of expired values: the purge goes on until none is left.
    const expired = Array.from({ length: PURGE_BATCH + 5 }, (_, i) => ({ kind: 'dpop', value: `uv-expired-${String(i).padStart(5, '0')}`, expires_at: now - 1000 }))
    for (let i = 0; i < expired.length; i += 500) await store.db.insertInto('used_values').values(expired.slice(i, i + 500)).execute()
    await store.db.insertInto('used_values').values([{ kind: 'dpop', value: 'uv-live', expires_at: now + 60_000 }, { kind: 'client_assertion', value: 'uv-live-assertion', expires_at: now + 300_000 }]).execute()
    const purger = new RetentionPurger(store, OPTIONS)
    t.equal(await purger.runUsedValues(), PURGE_BATCH + 5, 'every expired value went')
    t.same(await values(), ['uv-live', 'uv-live-assertion'], 'values still able to be replayed stay')
    t.equal(await store.settings.get(LEASE_KEY), `${purger.holder}:0`, 'the lease is given back')
    await store.db.insertInto('used_values').values([{ kind: 'id_jag', value: 'uv-expired-again', expires_at: now - 1 }]).execute()
    t.match(await purger.run(), { usedValues: 1 }, 'the full run purges them too')
    t.same(await values(), ['uv-live', 'uv-live-assertion'])
    await store.settings.set(LEASE_KEY, `someone-else:${Date.now() + 60_000}`)
    t.equal(await purger.runUsedValues(), undefined, 'not while another purger holds the lease')
    await store.settings.set(LEASE_KEY, 'someone-else:0')
  })

  await t.test('AUDIT_RETENTION_DAYS=0 keeps audit events forever', async (t) => {
    await store.db.insertInto('audit_events').values([audit('k-ancient', now - 3650 * DAY)]).execute()
    const counts = await new RetentionPurger(store, { ...OPTIONS, auditRetentionDays: 0 }).run()
    t.equal(counts?.auditEvents, 0)
    t.same(await ids(store, 'audit_events', 'k-'), ['k-ancient'])
  })

  await t.test('of two purgers at once, one runs', async (t) => {
    const other = await openStore(t, location)
    const one = new RetentionPurger(store, OPTIONS)
    const two = new RetentionPurger(other, OPTIONS)
    const results = await Promise.all([one.acquire(), two.acquire()])
    t.same(results.filter(Boolean).length, 1, 'exactly one takes the lease')
    const [holder, waiter] = results[0] ? [one, two] : [two, one]
    t.equal(await waiter.run(), undefined, 'the other does not purge while the lease is held')
    t.ok(await holder.acquire(), 'the holder renews it')
    await holder.release()
    t.ok(await waiter.acquire(), 'once given back, the other takes it')
    await waiter.release()
    // A lease whose holder vanished expires.
    await store.settings.set(LEASE_KEY, `gone:${Date.now() - 1}`)
    t.ok(await one.acquire(), 'an expired lease is taken over')
    await one.release()
    const both = await Promise.all([one.run(), two.run()])
    t.equal(both.filter(r => r !== undefined).length >= 1, true, 'runs started together: at least one purges')
  })
}

test('retention on SQLite', async (t) => {
  await suite(t, async () => createSqliteDatabase(t))
})

test('retention on PostgreSQL', async (t) => {
  if (!await requirePostgres(t)) return
  await suite(t, () => createPostgresDatabase(t))
})
