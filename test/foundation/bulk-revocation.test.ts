import { test, type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, BOOTSTRAP_CLIENT, createPostgresDatabase, createSqliteDatabase, requirePostgres } from '../helper.js'
import { REVOKE_BATCH } from '../../lib/storage/repositories/tokens.js'
import { uuidv7 } from '../../lib/crypto.js'
import type { Change } from '../../lib/storage/changes.schema.js'
import type { Store } from '../../lib/storage/store.js'

/** DESIGN.md: another instance refuses a revoked token within one second; polling slack on top. */
const FRESHNESS_MS = 1000
const SLACK_MS = 500
const TOKENS = 50_000
const SEED_CHUNK = 1000

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** Inserts `count` live access tokens of `clientId` for `subject`, a thousand rows per statement. */
async function seedTokens (store: Store, prefix: string, clientId: string, subject: string, count: number): Promise<void> {
  const now = Date.now()
  for (let i = 0; i < count; i += SEED_CHUNK) {
    const rows = []
    for (let j = i; j < Math.min(count, i + SEED_CHUNK); j++) {
      rows.push({ id: `${prefix}-${String(j).padStart(6, '0')}`, kind: 'access', subject, subject_kind: 'user', client_id: clientId, scope: '', audience: '', family_id: null, session_id: null, code_id: null, expires_at: now + 3600_000, created_at: now, revoked_at: null, used_at: null })
    }
    await store.db.insertInto('tokens').values(rows).execute()
  }
}

async function clientToken (app: FastifyInstance): Promise<{ token: string, issuer: string, jti: string }> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/login/oauth/access_token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`${BOOTSTRAP_CLIENT.id}:${BOOTSTRAP_CLIENT.secret}`).toString('base64') },
    payload: 'grant_type=client_credentials'
  })
  const token = res.json().access_token as string
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
  return { token, issuer: claims.iss, jti: claims.jti }
}

/** Asks `check` every 50 ms until it is true; false when it still is not after `limitMs`. */
async function becomes (limitMs: number, check: () => Promise<boolean>): Promise<boolean> {
  const started = Date.now()
  for (;;) {
    if (await check()) return true
    if (Date.now() - started > limitMs) return false
    await sleep(50)
  }
}

async function suite (t: Test, url: string): Promise<void> {
  const env = { DATABASE_URL: url, REVOCATION_POLL_INTERVAL: '100' }
  const a = await build(t, { env })
  const b = await build(t, { env })

  await t.test(`delete_application with ${TOKENS} tokens: one UPDATE and one change per batch`, async (t) => {
    await a.store.organizations.create({ name: 'bulk' })
    await a.store.users.create({ owner: 'bulk', name: 'holder' })
    const { application: app } = await a.store.applications.create({ owner: 'bulk', name: 'bulk-app' })
    await seedTokens(a.store, 'bulk', app.clientId, 'bulk/holder', TOKENS)
    await seedTokens(a.store, 'other', 'another-client', 'bulk/holder', 10)
    const heard: Change[] = []
    const listen = (change: Change): void => { if (change.kind === 'tokens.revoked') heard.push(change) }
    a.store.changes.on('change', listen)
    t.teardown(() => { a.store.changes.off('change', listen) })
    const since = Date.now() - 1
    await a.store.applications.delete(app.id)

    const live = await a.store.db.selectFrom('tokens').select(eb => eb.fn.countAll<number>().as('n')).where('client_id', '=', app.clientId).where('revoked_at', 'is', null).executeTakeFirstOrThrow()
    t.equal(Number(live.n), 0, 'every token of the application is revoked once delete answers')
    const others = await a.store.db.selectFrom('tokens').select(eb => eb.fn.countAll<number>().as('n')).where('client_id', '=', 'another-client').where('revoked_at', 'is', null).executeTakeFirstOrThrow()
    t.equal(Number(others.n), 10, 'nothing else is')
    const feed = (await a.store.changes.since(since)).filter(c => c.kind === 'tokens.revoked')
    t.equal(feed.length, Math.ceil(TOKENS / REVOKE_BATCH), `one change row per batch of ${REVOKE_BATCH}, not one per token`)
    t.ok(feed.every(c => c.ref === `client_id:${app.clientId}`), 'each naming the group')
    t.equal(feed.filter(c => c.ids !== undefined).length, 0, 'the feed rows hold no ids')
    const ids = new Set(heard.flatMap(c => c.ids ?? []))
    t.equal(ids.size, TOKENS, 'this instance heard every revoked id with its changes')
    t.equal((await a.store.tokens.revokedIn('client_id', app.clientId)).length, TOKENS, 'another instance resolves the group to every id')
    t.equal(await a.store.tokens.revokeAll('client_id', app.clientId), 0, 'revoking again changes nothing')
  })

  await t.test('a group revoked on A is refused by B within the freshness bound', async (t) => {
    const { token, issuer, jti } = await clientToken(a)
    t.ok((await b.verifyAccessToken(token, issuer)).ok, 'B accepts the token first (and caches it)')
    const row = await a.store.tokens.find(jti)
    t.ok(row !== undefined, 'the token is recorded')
    // The client still exists: only the deny-list can refuse the token on B.
    t.equal(await a.store.tokens.revokeAll('subject', row?.subject ?? ''), 1, 'revoked on A as a group')
    t.ok(a.authState.isRevoked(jti), 'A knows at once, from its own change')
    t.ok(await becomes(FRESHNESS_MS + SLACK_MS, async () => !(await b.verifyAccessToken(token, issuer)).ok), 'B refuses it within the bound')
    t.match(await b.verifyAccessToken(token, issuer), { ok: false, description: /revoked/ }, 'as revoked')
  })

  await t.test('a revoked group the instance cannot resolve fails closed', async (t) => {
    const { token, issuer } = await clientToken(a)
    t.ok((await b.verifyAccessToken(token, issuer)).ok, 'B accepts a live token')
    const at = Date.now()
    await a.store.db.insertInto('changes').values({ id: uuidv7(at), at, kind: 'tokens.revoked', ref: 'no-such-column:x' }).execute()
    const closed = await becomes(FRESHNESS_MS + 2 * SLACK_MS, async () => {
      try {
        await b.verifyAccessToken(token, issuer)
        return false
      } catch (err) {
        return (err as { code?: string }).code === 'unavailable'
      }
    })
    t.ok(closed, 'B answers unavailable rather than trust data it could not refresh')
  })
}

test('bulk revocation on SQLite', async (t) => {
  await suite(t, createSqliteDatabase(t))
})

test('bulk revocation on PostgreSQL', async (t) => {
  if (!await requirePostgres(t)) return
  await suite(t, await createPostgresDatabase(t))
})
