import { test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { build } from '../helper.js'
import { principalFor } from '../tool-helper.js'
import { expectOk, seed } from '../tools/context.js'
import { ReadCache } from '../../lib/mcp/read-cache.js'
import type { Principal } from '../../lib/principal.js'

const somebody = (id: string, scopes: string[] = ['application:read']): Principal => ({
  kind: 'user', id, organization: id.split('/')[0], name: id.split('/')[1], isAdmin: false, isGlobalAdmin: false, clientId: 'c', scopes: new Set(scopes), via: 'test'
})

test('ReadCache: kept per tool, caller and arguments; dropped when the generation moves or time is up', async (t) => {
  const cache = new ReadCache<string>(1000)
  const alice = somebody('acme/alice')
  const key = cache.key('get_x', alice, { a: 1 })
  t.not(key, cache.key('get_y', alice, { a: 1 }), 'the tool is in the key')
  t.not(key, cache.key('get_x', alice, { a: 2 }), 'the arguments are in the key')
  t.not(key, cache.key('get_x', somebody('acme/bob'), { a: 1 }), 'the caller is in the key')
  t.not(key, cache.key('get_x', somebody('acme/alice', ['application:read', 'user:read']), { a: 1 }), 'so are its scopes')
  t.not(key, cache.key('get_x', { ...alice, isAdmin: true }, { a: 1 }), 'and its role')
  t.not(key, cache.key('get_x', { ...alice, scopes: null }, { a: 1 }), 'an unrestricted session differs from a token')
  t.equal(key, cache.key('get_x', somebody('acme/alice'), { a: 1 }), 'the same call, the same key')

  cache.set(key, { result: 'r', json: '"r"' }, 7, 1_000)
  t.same(cache.get(key, 7, 1_500), { result: 'r', json: '"r"', generation: 7, expiresAt: 2_000, bytes: key.length + 3 })
  t.equal(cache.get(key, 8, 1_500), undefined, 'a write since: gone')
  t.equal(cache.get(key, 7, 1_500), undefined, 'and not back')
  cache.set(key, { result: 'r', json: '"r"' }, 7, 1_000)
  t.equal(cache.get(key, 7, 2_000), undefined, 'expired')
  t.same(cache.size, { entries: 0, bytes: 0 })

  t.notOk(new ReadCache(0).enabled, 'READ_CACHE_TTL=0: off')
})

test('ReadCache: bounded by bytes, oldest (and expired) first; huge results are not kept', async (t) => {
  const cache = new ReadCache<string>(1000, 1000)
  const who = somebody('acme/alice')
  const keys = [0, 1, 2, 3].map(i => cache.key('get_x', who, { i }))
  for (const k of keys) cache.set(k, { result: '', json: 'x'.repeat(300) }, 1, 0)
  t.equal(cache.get(keys[0], 1, 10), undefined, 'the oldest went past the budget')
  t.ok(cache.get(keys[3], 1, 10))
  t.ok(cache.size.bytes <= 1000)
  cache.set(keys[0], { result: '', json: 'x' }, 1, 5_000)
  t.equal(cache.size.entries, 1, 'expired entries are dropped when a new one comes')

  const big = new ReadCache<string>(1000)
  big.set('k', { result: '', json: 'x'.repeat(300 * 1024) }, 1)
  t.equal(big.get('k', 1), undefined)
})

test('the store counts writes, not reads or log appends', async (t) => {
  const app = await build(t)
  const { store } = app
  let g = store.generation
  await store.organizations.list({})
  await store.applications.list({})
  t.equal(store.generation, g, 'reads leave it')
  await store.audit.insertMany([{ id: 'a1', at: Date.now(), principal: 'x', principalKind: 'user', organization: 'o', clientId: 'c', tool: 't', outcome: 'success', durationMs: 1, arguments: {}, error: '' }])
  await store.changes.prune(0)
  t.equal(store.generation, g, 'appending to the audit log and pruning the change feed leave it')
  await store.organizations.create({ name: 'gen-org' })
  t.ok(store.generation > g, 'an insert moves it')
  g = store.generation
  await store.organizations.update('admin/gen-org', { displayName: 'G' })
  t.ok(store.generation > g, 'an update (a transaction or not) moves it')
  g = store.generation
  await store.transaction(async () => {})
  t.ok(store.generation > g, 'so does the end of any transaction')
  g = store.generation
  store.changes.emit('change', { id: 'remote', at: Date.now(), kind: 'user.changed', ref: 'x' })
  t.equal(store.generation, g + 1, 'and a change heard from another instance')
})

test('cacheable tools through the registry: the same answer until something changes, every call audited', async (t) => {
  const app = await build(t, { env: { READ_CACHE_TTL: '1000' } })
  const who = await seed(t, app)
  let reads = 0
  const list = app.store.applications.list.bind(app.store.applications)
  app.store.applications.list = async (...args) => { reads++; return await list(...args) }
  const ids = (page: { items: Array<{ id: string }> }): string[] => page.items.map(i => i.id)

  const first = await expectOk(t, app, 'get_applications', { owner: 'acme' }, who.orgAdmin)
  const again = await expectOk(t, app, 'get_applications', { owner: 'acme' }, who.orgAdmin)
  t.same(again, first)
  t.equal(reads, 1, 'the second call was answered from memory')
  const outcome = await app.callTool(who.orgAdmin, 'get_applications', { owner: 'acme' })
  t.equal(outcome.kind === 'result' ? outcome.json : undefined, JSON.stringify(outcome.kind === 'result' ? outcome.result : null), 'its JSON is the result\'s')

  await expectOk(t, app, 'get_applications', { owner: 'acme', limit: 5 }, who.orgAdmin)
  t.equal(reads, 2, 'other arguments: read')
  await expectOk(t, app, 'get_applications', { owner: 'acme' }, who.global)
  t.equal(reads, 3, 'another caller: read')
  t.same(await expectOk(t, app, 'get_applications', { owner: 'acme' }, who.alice), { items: [] }, 'a plain user still sees none')

  await expectOk(t, app, 'add_application', { owner: 'acme', name: 'second-app' }, who.orgAdmin)
  t.same(ids(await expectOk(t, app, 'get_applications', { owner: 'acme' }, who.orgAdmin)), ['acme/acme-app', 'acme/second-app'], 'a write through a tool is seen at once')

  await app.store.applications.update('acme/second-app', { displayName: 'Changed elsewhere' })
  const changed = await expectOk(t, app, 'get_applications', { owner: 'acme' }, who.orgAdmin)
  t.equal(changed.items[1].displayName, 'Changed elsewhere', 'a write through the store (OAuth flows, registration) too')

  const before = reads
  await expectOk(t, app, 'get_applications', { owner: 'acme' }, who.orgAdmin)
  t.equal(reads, before, 'kept again')
  app.store.changes.emit('change', { id: 'remote', at: Date.now(), kind: 'application.changed', ref: 'x' })
  await expectOk(t, app, 'get_applications', { owner: 'acme' }, who.orgAdmin)
  t.equal(reads, before + 1, 'a change event from another instance ends it')

  await app.audit.flush()
  const since = new Date(Date.now() - 60_000).toISOString()
  const audited = await expectOk(t, app, 'get_audit_events', { from: since, tool: 'get_applications', principal: 'acme/boss', limit: 500 }, who.global)
  t.ok(audited.items.length >= 7, `every call is audited, answered from memory or not (${audited.items.length})`)

  // Non-cacheable reads are always read.
  let tokenReads = 0
  const tokens = app.store.tokens.list.bind(app.store.tokens)
  app.store.tokens.list = async (...args) => { tokenReads++; return await tokens(...args) }
  await expectOk(t, app, 'get_tokens', {}, who.global)
  await expectOk(t, app, 'get_tokens', {}, who.global)
  t.equal(tokenReads, 2, 'get_tokens is not cacheable (expiry is the clock\'s business)')
})

test('READ_CACHE_TTL bounds how long a result is kept; 0 turns it off', async (t) => {
  const short = await build(t, { env: { READ_CACHE_TTL: '40' } })
  let reads = 0
  const list = short.store.organizations.list.bind(short.store.organizations)
  short.store.organizations.list = async (...args) => { reads++; return await list(...args) }
  const admin = principalFor(short)
  await expectOk(t, short, 'get_organizations', {}, admin)
  await expectOk(t, short, 'get_organizations', {}, admin)
  t.equal(reads, 1)
  await sleep(60)
  await expectOk(t, short, 'get_organizations', {}, admin)
  t.equal(reads, 2, 'read again once the time was up')

  const off = await build(t, { env: { READ_CACHE_TTL: '0' } })
  let offReads = 0
  const offList = off.store.organizations.list.bind(off.store.organizations)
  off.store.organizations.list = async (...args) => { offReads++; return await offList(...args) }
  await expectOk(t, off, 'get_organizations', {}, principalFor(off))
  await expectOk(t, off, 'get_organizations', {}, principalFor(off))
  t.equal(offReads, 2)
})
