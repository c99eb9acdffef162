import { test } from 'tap'
import { chmodSync, existsSync, statSync } from 'node:fs'
import { sign } from '@fastify/cookie'
import type { FastifyInstance } from 'fastify'
import { build, listen, testDatabaseUrl, ADMIN, BOOTSTRAP_CLIENT } from '../helper.js'
import { Agent, authorizePath, authorizeThrough, decodeJwt, pkce, registerPublic, tokenRequest } from '../oauth/flow.js'
import { Migrator } from 'kysely'
import { atRestEncryption, keyFilePath } from '../../lib/keys.js'
import { readConfig } from '../../lib/config.js'
import { createDatabase } from '../../lib/storage/db.js'
import { migrationProvider } from '../../lib/storage/migrations.js'

/**
 * DESIGN.md "Rules that hold on every path": a session ends with its user, for good; logging
 * out ends the tokens issued through the session; a database read yields no working cookie.
 */

const HOST = 'iam.test'
const REDIRECT = 'http://127.0.0.1:9/callback'

/** `get_account` over POST /api/mcp: the caller's id, or the HTTP status of the refusal. */
async function whoIs (app: FastifyInstance, headers: Record<string, string>): Promise<string | number> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/mcp',
    headers: { host: HOST, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    payload: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_account', arguments: {} } }
  })
  if (res.statusCode !== 200) return res.statusCode
  const id = res.json().result?.structuredContent?.id
  return typeof id === 'string' ? id : res.statusCode
}

async function login (app: FastifyInstance, username: string, password: string, organization = 'built-in'): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/login', headers: { host: HOST }, payload: { username, password, organization } })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  const line = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find(c => c.startsWith('iam_session='))
  if (line === undefined) throw new Error('no session cookie')
  return line.split(';')[0]
}

async function tool (app: FastifyInstance, name: string, args: Record<string, unknown>): Promise<{ isError: boolean, text: string }> {
  const principal = { kind: 'user' as const, id: 'built-in/admin', organization: 'built-in', name: 'admin', isAdmin: true, isGlobalAdmin: true, clientId: null, scopes: null, via: 'test' as const }
  const outcome = await app.callTool(principal, name, args)
  if (outcome.kind !== 'result') throw new Error(`${name}: ${JSON.stringify(outcome)}`)
  return { isError: outcome.result.isError === true, text: outcome.result.content[0]?.text ?? '' }
}

test('a session ends with its user, for good', async (t) => {
  const app = await build(t, { env: { PUBLIC_URL: `http://${HOST}` } })
  await app.store.organizations.create({ name: 'acme' })
  const password = 'bob-password-0123456789'
  await app.store.users.create({ owner: 'acme', name: 'bob', password })

  await t.test('forbidding ends the session: un-forbidding does not revive it', async (t) => {
    const cookie = await login(app, 'bob', password, 'acme')
    t.equal(await whoIs(app, { cookie }), 'acme/bob', 'the cookie works, and its session is memoized')
    t.notOk((await tool(app, 'update_user', { id: 'acme/bob', isForbidden: true })).isError)
    t.equal(await whoIs(app, { cookie }), 401, 'refused while forbidden')
    t.notOk((await tool(app, 'update_user', { id: 'acme/bob', isForbidden: false })).isError)
    t.equal(await whoIs(app, { cookie }), 401, 'still refused once allowed again')
    t.equal(await whoIs(app, { cookie: await login(app, 'bob', password, 'acme') }), 'acme/bob', 'a new login works')
  })

  await t.test('changing the password ends the sessions', async (t) => {
    const cookie = await login(app, 'bob', password, 'acme')
    t.equal(await whoIs(app, { cookie }), 'acme/bob')
    t.notOk((await tool(app, 'update_user', { id: 'acme/bob', password: 'bob-new-password-0123' })).isError)
    t.equal(await whoIs(app, { cookie }), 401)
    t.notOk((await tool(app, 'update_user', { id: 'acme/bob', password })).isError)
  })

  await t.test('a user deleted and re-created under the same name does not inherit the old cookie', async (t) => {
    const cookie = await login(app, 'bob', password, 'acme')
    t.equal(await whoIs(app, { cookie }), 'acme/bob')
    t.notOk((await tool(app, 'delete_user', { id: 'acme/bob' })).isError)
    await app.store.users.create({ owner: 'acme', name: 'bob', password, isAdmin: true })
    t.equal(await whoIs(app, { cookie }), 401, 'the old cookie is dead')
  })

  await t.test('every session ended is announced, so other instances drop it too', async (t) => {
    const first = await app.store.sessions.create({ userId: 'acme/bob', userAgent: 'a', ip: '127.0.0.1', ttlSeconds: 600 })
    const second = await app.store.sessions.create({ userId: 'acme/bob', userAgent: 'b', ip: '127.0.0.1', ttlSeconds: 600 })
    const since = Date.now() - 1000
    t.notOk((await tool(app, 'update_user', { id: 'acme/bob', isForbidden: true })).isError)
    const ended = (await app.store.changes.since(since)).filter(c => c.kind === 'session.ended').map(c => c.ref)
    t.ok(ended.includes(first.id) && ended.includes(second.id), 'a session.ended change row for each')
  })

  await t.test('a session opened before its user was created is dead', async (t) => {
    const session = await app.store.sessions.create({ userId: 'acme/carol', userAgent: 'a', ip: '127.0.0.1', ttlSeconds: 600 })
    await new Promise(resolve => setTimeout(resolve, 5))
    await app.store.users.create({ owner: 'acme', name: 'carol', password })
    const cookie = `iam_session=${encodeURIComponent(app.signCookie(session.cookieValue))}`
    t.equal(await whoIs(app, { cookie }), 401)
  })
})

test('logging out ends the tokens of the authorization-code flow', async (t) => {
  const { app, base } = await listen(t)
  const client = await registerPublic(base, REDIRECT)
  const mcp = async (token: string): Promise<number> => (await fetch(`${base}/api/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_users', arguments: {} } })
  })).status

  async function signInAndGetTokens (agent: Agent): Promise<{ access: string, refresh: string }> {
    const { verifier, challenge } = pkce()
    const path = authorizePath({ response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: 'S256', scope: 'user:read' })
    const code = (await authorizeThrough(agent, path)).searchParams.get('code') as string
    const tokens = await tokenRequest(base, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: client.client_id })
    if (tokens.status !== 200) throw new Error(JSON.stringify(tokens.body))
    return { access: tokens.body.access_token, refresh: tokens.body.refresh_token }
  }
  const refreshWith = (refresh: string) => tokenRequest(base, { grant_type: 'refresh_token', refresh_token: refresh, client_id: client.client_id })

  await t.test('POST /api/logout', async (t) => {
    const agent = new Agent(base)
    const { access, refresh } = await signInAndGetTokens(agent)
    t.ok(typeof decodeJwt(access).sid === 'string', 'the access token names its session')
    t.equal(await mcp(access), 200, 'the access token works')
    const out = await agent.request('/api/logout', { method: 'POST' })
    t.equal(out.status, 200)
    t.equal(await mcp(access), 401, 'the access token is refused after logout')
    const refreshed = await refreshWith(refresh)
    t.equal(refreshed.status, 400)
    t.equal(refreshed.body.error, 'invalid_grant', 'the refresh token is refused')
    const live = await app.db.selectFrom('tokens').select('id').where('client_id', '=', client.client_id).where('revoked_at', 'is', null).execute()
    t.same(live, [], 'both are revoked')
  })

  await t.test('end_session', async (t) => {
    const agent = new Agent(base)
    const { access, refresh } = await signInAndGetTokens(agent)
    const sid = decodeJwt(access).sid as string
    t.equal(await mcp(access), 200)
    const sessions = await app.store.sessions.list({ userId: 'built-in/admin' })
    const { sessionHandle } = await import('../../lib/tool-kit/index.js')
    const handle = sessions.items.map(s => sessionHandle(s.id)).find(h => h === sessionHandle(sid))
    t.ok(handle !== undefined, 'the token\'s sid is the session get_sessions lists')
    const ended = await tool(app, 'end_session', { id: handle })
    t.notOk(ended.isError, ended.text)
    t.equal(JSON.parse(ended.text).revokedTokens, 2, 'the access and refresh tokens')
    t.equal(await mcp(access), 401)
    t.equal((await refreshWith(refresh)).body.error, 'invalid_grant')
  })

  await t.test('a code exchanged after its session ended gets no tokens', async (t) => {
    const agent = new Agent(base)
    const { verifier, challenge } = pkce()
    const path = authorizePath({ response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: 'S256', scope: 'user:read' })
    const code = (await authorizeThrough(agent, path)).searchParams.get('code') as string
    await agent.request('/api/logout', { method: 'POST' })
    const tokens = await tokenRequest(base, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: client.client_id })
    t.equal(tokens.body.error, 'invalid_grant')
  })
})

test('a database read yields no working cookie and no signing key', async (t) => {
  const DATABASE_URL = await testDatabaseUrl(t)
  const sqlite = DATABASE_URL.startsWith('sqlite:')
  // PostgreSQL encrypts only with KEY_ENCRYPTION_SECRET (several instances share no file).
  const env = { DATABASE_URL, PUBLIC_URL: `http://${HOST}`, ...(sqlite ? {} : { KEY_ENCRYPTION_SECRET: 'key-encryption-secret-for-the-session-rules' }) }
  const app = await build(t, { env })
  const cookie = await login(app, ADMIN.username, ADMIN.password)
  t.equal(await whoIs(app, { cookie }), 'built-in/admin')
  const value = decodeURIComponent(cookie.slice('iam_session='.length))
  const random = value.slice(0, value.lastIndexOf('.'))

  const rows = await app.db.selectFrom('sessions').select('id').execute()
  t.notOk(rows.some(r => r.id === random), 'the cookie\'s value is not stored')
  const stored = (await app.db.selectFrom('settings').select('value').where('key', '=', 'cookie_secret').executeTakeFirst())?.value ?? ''
  t.match(stored, /^enc:v1:/, 'the generated cookie secret is encrypted')
  for (const { id } of rows) {
    const forged = `iam_session=${encodeURIComponent(sign(id, stored))}`
    t.equal(await whoIs(app, { cookie: forged }), 401, 'a row id signed with the stored cookie secret is no cookie')
    const withApp = `iam_session=${encodeURIComponent(app.signCookie(id))}`
    t.equal(await whoIs(app, { cookie: withApp }), 401, 'nor with the real cookie secret: the row id is not the value')
  }
  const keys = await app.db.selectFrom('signing_keys').select('private_pem').execute()
  t.ok(keys.length > 0 && keys.every(k => k.private_pem.startsWith('enc:v1:')), 'no signing key in clear')
  if (sqlite) {
    const file = keyFilePath(DATABASE_URL.slice('sqlite:'.length))
    t.ok(existsSync(file), 'the key file is beside the database')
    t.equal(statSync(file).mode & 0o777, 0o600, 'readable by its owner only')
    chmodSync(file, 0o644)
    t.match((await atRestEncryption(readConfig({ DATABASE_URL }))).warning, /can be read by others/, 'a key file others can read is named at start')
    chmodSync(file, 0o600)
  }

  // What an older start kept in clear is encrypted at the next one, and keeps working.
  const clearPem = app.secrets.atRest.decrypt(keys[0].private_pem)
  await app.db.updateTable('signing_keys').set({ private_pem: clearPem }).execute()
  await app.db.updateTable('settings').set({ value: app.secrets.cookie }).where('key', '=', 'cookie_secret').execute()
  const issued = await app.tokens.issue({ subject: 'built-in/admin', subjectKind: 'user', clientId: BOOTSTRAP_CLIENT.id, scopes: ['account:read'], audience: `http://${HOST}`, issuer: `http://${HOST}` })
  await app.close()
  const again = await build(t, { env })
  const resealed = await again.db.selectFrom('signing_keys').select('private_pem').execute()
  t.ok(resealed.every(k => k.private_pem.startsWith('enc:v1:')), 'signing keys encrypted at the next start')
  const secret = (await again.db.selectFrom('settings').select('value').where('key', '=', 'cookie_secret').executeTakeFirst())?.value ?? ''
  t.match(secret, /^enc:v1:/, 'the cookie secret too')
  t.equal(await whoIs(again, { cookie }), 'built-in/admin', 'the cookie still works')
  t.equal(await whoIs(again, { authorization: `Bearer ${issued.access_token}` }), 'built-in/admin', 'and so do tokens signed before')
})

test('PostgreSQL without KEY_ENCRYPTION_SECRET warns at start', async (t) => {
  if (process.env.TEST_DATABASE !== 'postgres') {
    t.pass('runs with TEST_DATABASE=postgres')
    return
  }
  const logs: string[] = []
  await build(t, { env: { LOG_LEVEL: 'warn' }, logs })
  t.ok(logs.some(l => /KEY_ENCRYPTION_SECRET is not set/.test(l)), 'a warning names the variable')
})

test('migration 0003 turns stored session ids into digests, and their cookies keep working', async (t) => {
  const DATABASE_URL = await testDatabaseUrl(t)
  const config = readConfig({ DATABASE_URL })
  const handle = createDatabase(config.database)
  const { error } = await new Migrator({ db: handle.db, provider: migrationProvider }).migrateTo('0002_code_replay_marker')
  t.error(error)
  const now = Date.now()
  const raw = 'a-session-id-as-older-versions-stored-it'
  await handle.db.insertInto('settings').values({ key: 'secret_digest_key', value: 'a-digest-key-from-an-older-start' }).execute()
  await handle.db.insertInto('organizations').values({ id: 'admin/built-in', owner: 'admin', name: 'built-in', display_name: 'Built-in', website_url: '', created_at: now - 1000, updated_at: now - 1000 }).execute()
  await handle.db.insertInto('users').values({ id: 'built-in/admin', owner: 'built-in', name: 'admin', name_key: 'admin', display_name: 'admin', email: '', phone: '', password_hash: null, is_admin: 1, is_forbidden: 0, created_at: now - 1000, updated_at: now - 1000 }).execute()
  await handle.db.insertInto('sessions').values({ id: raw, user_id: 'built-in/admin', user_agent: 'old', ip: '127.0.0.1', created_at: now, expires_at: now + 600_000, ended_at: null }).execute()
  await handle.db.insertInto('tokens').values({ id: 'old-token', kind: 'access', subject: 'built-in/admin', subject_kind: 'user', client_id: 'c', scope: '', audience: 'x', family_id: null, session_id: raw, code_id: null, expires_at: now + 600_000, created_at: now, revoked_at: null, used_at: null }).execute()
  await handle.db.insertInto('authorization_codes').values({ id: 'old-code', client_id: 'c', user_id: 'built-in/admin', session_id: raw, redirect_uri: REDIRECT, scope: '', resource: 'x', code_challenge: 'c', nonce: null, expires_at: now + 60_000, created_at: now, used_at: null, replayed_at: null }).execute()
  await handle.close()

  const app = await build(t, { env: { DATABASE_URL, PUBLIC_URL: `http://${HOST}` } })
  const digest = app.store.sessions.idOf(raw)
  t.same((await app.db.selectFrom('sessions').select('id').execute()).map(r => r.id), [digest], 'the row id is the digest')
  t.equal((await app.db.selectFrom('tokens').select('session_id').where('id', '=', 'old-token').executeTakeFirst())?.session_id, digest, 'tokens follow')
  t.equal((await app.db.selectFrom('authorization_codes').select('session_id').where('id', '=', 'old-code').executeTakeFirst())?.session_id, digest, 'codes follow')
  t.equal(await whoIs(app, { cookie: `iam_session=${encodeURIComponent(app.signCookie(raw))}` }), 'built-in/admin', 'the cookie still opens its session')
})
