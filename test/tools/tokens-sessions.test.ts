import { test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { build } from '../helper.js'
import { sessionHandle } from '../../lib/tool-kit/index.js'
import { expectError, expectOk, seed } from './context.js'
import { principalFor } from '../tool-helper.js'

async function token (app: FastifyInstance, id: string, subject: string, extra: { sessionId?: string, expiresAt?: number, clientId?: string } = {}): Promise<void> {
  await app.store.tokens.insert({
    id,
    kind: 'access',
    subject,
    subjectKind: subject.endsWith('-app') ? 'application' : 'user',
    clientId: extra.clientId ?? 'client-1',
    scope: 'user:read',
    audience: 'http://127.0.0.1',
    familyId: null,
    sessionId: extra.sessionId ?? null,
    codeId: null,
    expiresAt: extra.expiresAt ?? Date.now() + 3600_000
  })
}

test('token and session tools', async (t) => {
  const app = await build(t)
  const who = await seed(t, app)
  const aliceSession = await app.store.sessions.create({ userId: 'acme/alice', userAgent: 'Firefox', ip: '10.0.0.1', ttlSeconds: 3600 })
  const bossSession = await app.store.sessions.create({ userId: 'acme/boss', userAgent: 'Chrome', ip: '10.0.0.2', ttlSeconds: 3600 })
  const olgaSession = await app.store.sessions.create({ userId: 'other/olga', userAgent: 'curl', ip: '10.0.0.3', ttlSeconds: 3600 })
  await token(app, 'tok-alice-1', 'acme/alice', { sessionId: aliceSession.id })
  await token(app, 'tok-alice-2', 'acme/alice', { sessionId: aliceSession.id, clientId: 'client-2' })
  await token(app, 'tok-alice-old', 'acme/alice', { expiresAt: Date.now() - 1000 })
  await token(app, 'tok-boss', 'acme/boss', { sessionId: bossSession.id })
  await token(app, 'tok-app', 'acme/acme-app')
  await token(app, 'tok-olga', 'other/olga', { sessionId: olgaSession.id })

  const ids = (page: { items: Array<{ id: string }> }): string[] => page.items.map(i => i.id).sort()

  t.test('get_tokens: metadata only, within reach', async (t) => {
    const all = await expectOk(t, app, 'get_tokens', {}, who.global)
    t.same(ids(all), ['tok-alice-1', 'tok-alice-2', 'tok-app', 'tok-boss', 'tok-olga'], 'expired tokens are left out by default')
    const one = all.items.find((i: { id: string }) => i.id === 'tok-alice-1')
    t.match(one, { kind: 'access', subject: 'acme/alice', subjectKind: 'user', clientId: 'client-1', scope: 'user:read', active: true, session: sessionHandle(aliceSession.id) })
    t.notOk(JSON.stringify(all).includes(aliceSession.id), 'the raw session id never shows')
    const withExpired = await expectOk(t, app, 'get_tokens', { includeExpired: true, subject: 'acme/alice' }, who.global)
    t.same(ids(withExpired), ['tok-alice-1', 'tok-alice-2', 'tok-alice-old'])
    t.equal(withExpired.items.find((i: { id: string }) => i.id === 'tok-alice-old').active, false)
    t.same(ids(await expectOk(t, app, 'get_tokens', { clientId: 'client-2' }, who.global)), ['tok-alice-2'])
    t.same(ids(await expectOk(t, app, 'get_tokens', { owner: 'other' }, who.global)), ['tok-olga'])

    t.same(ids(await expectOk(t, app, 'get_tokens', {}, who.orgAdmin)), ['tok-alice-1', 'tok-alice-2', 'tok-app', 'tok-boss'])
    t.same(ids(await expectOk(t, app, 'get_tokens', {}, who.acmeApp)), ['tok-alice-1', 'tok-alice-2', 'tok-app', 'tok-boss'])
    t.same(ids(await expectOk(t, app, 'get_tokens', { owner: 'other' }, who.orgAdmin)), [])
    t.same(ids(await expectOk(t, app, 'get_tokens', { subject: 'other/olga' }, who.orgAdmin)), [])
    t.same(ids(await expectOk(t, app, 'get_tokens', {}, who.alice)), ['tok-alice-1', 'tok-alice-2'], 'a plain user sees its own')
    t.same(ids(await expectOk(t, app, 'get_tokens', { subject: 'acme/boss' }, who.alice)), [])

    const first = await expectOk(t, app, 'get_tokens', { limit: 2 }, who.global)
    t.equal(first.items.length, 2)
    const second = await expectOk(t, app, 'get_tokens', { limit: 2, cursor: first.nextCursor }, who.global)
    const third = await expectOk(t, app, 'get_tokens', { limit: 2, cursor: second.nextCursor }, who.global)
    t.equal(third.nextCursor, undefined)
    t.same([...ids(first), ...ids(second), ...ids(third)].sort(), ids(all), 'pages cover every token once')
  })

  t.test('revoke_token', async (t) => {
    await expectError(t, app, 'revoke_token', { id: 'tok-olga' }, who.orgAdmin, /token "tok-olga" not found/)
    await expectError(t, app, 'revoke_token', { id: 'tok-boss' }, who.alice, /not found/)
    await expectError(t, app, 'revoke_token', { id: 'no-such-token' }, who.global, /not found/)
    const own = await expectOk(t, app, 'revoke_token', { id: 'tok-alice-2' }, who.alice)
    t.match(own, { token: { id: 'tok-alice-2', active: false }, revoked: true })
    t.type(own.token.revokedTime, 'string')
    const again = await expectOk(t, app, 'revoke_token', { id: 'tok-alice-2' }, who.global)
    t.equal(again.revoked, false, 'revoking twice changes nothing')
    const byAdmin = await expectOk(t, app, 'revoke_token', { id: 'tok-app' }, who.orgAdmin)
    t.equal(byAdmin.revoked, true)
  })

  t.test('get_sessions: handles, never cookies', async (t) => {
    const all = await expectOk(t, app, 'get_sessions', {}, who.global)
    t.same(ids(all), [aliceSession.id, bossSession.id, olgaSession.id].map(sessionHandle).sort())
    t.notOk(JSON.stringify(all).includes(aliceSession.id), 'raw session ids never show')
    t.match(all.items.find((s: { userId: string }) => s.userId === 'acme/alice'), { userAgent: 'Firefox', ip: '10.0.0.1' })
    t.same(ids(await expectOk(t, app, 'get_sessions', { user: 'other/olga' }, who.global)), [sessionHandle(olgaSession.id)])
    t.same(ids(await expectOk(t, app, 'get_sessions', { owner: 'acme' }, who.global)), [aliceSession.id, bossSession.id].map(sessionHandle).sort())
    t.same(ids(await expectOk(t, app, 'get_sessions', {}, who.orgAdmin)), [aliceSession.id, bossSession.id].map(sessionHandle).sort())
    t.same(ids(await expectOk(t, app, 'get_sessions', { owner: 'other' }, who.orgAdmin)), [])
    t.same(ids(await expectOk(t, app, 'get_sessions', {}, who.alice)), [sessionHandle(aliceSession.id)])
    t.same(ids(await expectOk(t, app, 'get_sessions', { user: 'acme/boss' }, who.alice)), [])
    const page = await expectOk(t, app, 'get_sessions', { limit: 1 }, who.global)
    t.equal(page.items.length, 1)
    t.type(page.nextCursor, 'string')
  })

  t.test('end_session: ends it and revokes the tokens issued through it', async (t) => {
    await expectError(t, app, 'end_session', { id: sessionHandle(olgaSession.id) }, who.orgAdmin, /not found/)
    await expectError(t, app, 'end_session', { id: sessionHandle(bossSession.id) }, who.alice, /not found/)
    await expectError(t, app, 'end_session', { id: aliceSession.id }, who.global, /id/)
    const ended = await expectOk(t, app, 'end_session', { id: sessionHandle(aliceSession.id) }, who.alice)
    t.match(ended, { session: { id: sessionHandle(aliceSession.id), userId: 'acme/alice' }, revokedTokens: 1 })
    t.equal(await app.store.sessions.findActive(aliceSession.id), undefined, 'the session is over')
    t.not((await app.store.tokens.find('tok-alice-1'))?.revokedAt ?? null, null, 'its token is revoked')
    t.equal((await app.store.tokens.find('tok-boss'))?.revokedAt, null, 'other tokens live on')
    await expectError(t, app, 'end_session', { id: sessionHandle(aliceSession.id) }, who.global, /not found/)
    const byAdmin = await expectOk(t, app, 'end_session', { id: sessionHandle(bossSession.id) }, who.orgAdmin)
    t.equal(byAdmin.revokedTokens, 1)
    const byGlobal = await expectOk(t, app, 'end_session', { id: sessionHandle(olgaSession.id) }, who.global)
    t.equal(byGlobal.session.userId, 'other/olga')
    t.same((await expectOk(t, app, 'get_sessions', {}, who.global)).items, [])
  })
})

test('an organization admin sees the tokens and sessions of its own organization only, whatever the case of a neighbour\'s name', async (t) => {
  const app = await build(t)
  const global = principalFor(app)
  for (const name of ['acme_x', 'Acme_x', 'acmeXx']) {
    await expectOk(t, app, 'add_organization', { name }, global)
    await expectOk(t, app, 'add_user', { owner: name, name: 'boss', isAdmin: true }, global)
    await app.store.sessions.create({ userId: `${name}/boss`, userAgent: name, ip: '10.0.0.9', ttlSeconds: 3600 })
    await token(app, `tok-${name}`, `${name}/boss`)
  }
  const boss = principalFor(app, { id: 'acme_x/boss', isAdmin: true })
  const tokens = await expectOk(t, app, 'get_tokens', {}, boss)
  t.same(tokens.items.map((i: { id: string }) => i.id), ['tok-acme_x'], 'an "_" in the name is not a wildcard, and "Acme_x" is another organization')
  const sessions = await expectOk(t, app, 'get_sessions', {}, boss)
  t.same(sessions.items.map((s: { userAgent: string }) => s.userAgent), ['acme_x'])
  const listed = await expectOk(t, app, 'get_tokens', { owner: 'Acme_x' }, global)
  t.same(listed.items.map((i: { id: string }) => i.id), ['tok-Acme_x'])
})
