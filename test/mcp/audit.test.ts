import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import type { FastifyBaseLogger } from 'fastify'
import { AUDIT_FLUSH_MS, createAuditLog, redactSecrets, type AuditRecord } from '../../lib/mcp/audit.js'
import type { AuditEvent } from '../../lib/storage/models.js'
import type { Store } from '../../lib/storage/store.js'
import { StoreError } from '../../lib/storage/errors.js'
import { build, testEnv } from '../helper.js'
import { callTool } from '../tool-helper.js'
import { FIXTURE_TOOLS, applicationWith, buildMcp, rpc } from './fixtures/util.js'

const silent = { error () {}, warn () {}, info () {} } as unknown as FastifyBaseLogger

function event (tool: string): AuditRecord {
  return { at: Date.now(), principal: 'built-in/admin', principalKind: 'user', organization: 'built-in', clientId: '', tool, outcome: 'success', durationMs: 1, arguments: {}, error: '' }
}

/** A store whose audit repository is scripted by the test. */
function fakeStore (insertMany: (events: AuditEvent[]) => Promise<void>): Store {
  return { audit: { insertMany } } as unknown as Store
}

test('redactSecrets: secret-looking keys anywhere, long values cut, the rest kept', async (t) => {
  const long = 'y'.repeat(5000)
  const out = redactSecrets({
    name: 'alice',
    password: 'hunter2',
    clientSecret: 'abc',
    nested: { refresh_token: 'r', apiKey: 'k', code_verifier: 'v', keep: 1, deeper: [{ secret: 's', ok: true }] },
    list: Array.from({ length: 150 }, (_, i) => i),
    long
  }) as Record<string, any>
  t.equal(out.name, 'alice')
  t.equal(out.password, '[Redacted]')
  t.equal(out.clientSecret, '[Redacted]')
  t.same(out.nested, { refresh_token: '[Redacted]', apiKey: '[Redacted]', code_verifier: '[Redacted]', keep: 1, deeper: [{ secret: '[Redacted]', ok: true }] })
  t.equal(out.list.length, 101)
  t.equal(out.list[100], '[50 more]')
  t.equal(out.long.length, 1025)
  t.notMatch(JSON.stringify(out), /hunter2|"abc"/)
  let deep: Record<string, unknown> = { leaf: 1 }
  for (let i = 0; i < 20; i++) deep = { d: deep }
  t.match(JSON.stringify(redactSecrets(deep)), /\[Truncated\]/)
  t.equal(redactSecrets(null), null)
  t.equal(redactSecrets(3), 3)
})

test('every tools/call is audited: success, error, denied, unknown; secrets removed', async (t) => {
  const app = await buildMcp(t)
  const reader = await applicationWith(app, ['demo:read'])

  await rpc(app, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } })
  await rpc(app, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'set_password', arguments: { user: 'acme/alice', password: 'hunter2', profile: { clientSecret: 'shh', note: 'n' } } } })
  await rpc(app, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'fail', arguments: { how: 'tool' } } })
  const denied = await rpc(app, { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'set_password', arguments: { user: 'x', password: 'hunter3' } } }, { headers: { authorization: reader.authorization } })
  t.equal(denied.statusCode, 403)
  await rpc(app, { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'nope', arguments: {} } })
  await rpc(app, { jsonrpc: '2.0', id: 6, method: 'tools/list' })

  await app.audit.flush()
  const { items } = await app.store.audit.list({ limit: 50 })
  t.equal(items.length, 5, 'one event per tools/call, none for tools/list')
  const byTool = (tool: string, outcome: string): AuditEvent | undefined => items.find(e => e.tool === tool && e.outcome === outcome)

  const echo = byTool('echo', 'success')
  t.match(echo, { principal: 'built-in/app-built-in', principalKind: 'application', organization: 'built-in', clientId: 'test-bootstrap-client', arguments: { text: 'hi' }, error: '' })
  t.type(echo?.durationMs, 'number')
  t.ok((echo?.at ?? 0) > Date.now() - 60_000)

  const secret = byTool('set_password', 'success')
  t.same(secret?.arguments, { user: 'acme/alice', password: '[Redacted]', profile: { clientSecret: '[Redacted]', note: 'n' } })
  t.match(byTool('fail', 'error'), { error: 'you may not touch organization "acme"' })
  t.match(byTool('set_password', 'denied'), { principal: reader.id, clientId: reader.clientId, error: 'insufficient_scope', arguments: { password: '[Redacted]' } })
  t.match(byTool('nope', 'error'), { error: 'unknown tool' })
  t.notMatch(JSON.stringify(items), /hunter|shh/)
})

test('events reach the database within about AUDIT_FLUSH_MS, without anyone flushing', async (t) => {
  const app = await buildMcp(t)
  await callTool(app, 'echo', { text: 'timed' })
  const start = Date.now()
  let found = 0
  while (Date.now() - start < 2000) {
    found = (await app.store.audit.list({ tool: 'echo' })).items.length
    if (found > 0) break
    await sleep(10)
  }
  t.equal(found, 1)
  t.ok(Date.now() - start < AUDIT_FLUSH_MS + 200, `written after ${Date.now() - start} ms`)
})

test('a clean shutdown loses no audit event: the flush runs before the database closes', async (t) => {
  const env = await testEnv(t)
  const first = await build(t, { toolsDir: FIXTURE_TOOLS, env })
  const calls = 40
  await Promise.all(Array.from({ length: calls }, (_, i) => callTool(first, 'echo', { text: `n${i}` })))
  await first.close()

  const second = await build(t, { toolsDir: FIXTURE_TOOLS, env })
  const { items } = await second.store.audit.list({ tool: 'echo', limit: 500 })
  t.equal(items.length, calls)
})

test('the write-behind queue: never blocks callers, batches, retries, flushes on close', async (t) => {
  t.test('record returns at once even when the database hangs', async (t) => {
    let release: () => void = () => {}
    const batches: number[] = []
    const log = createAuditLog(fakeStore(async (events) => {
      batches.push(events.length)
      // Only the first write hangs, until released.
      if (batches.length === 1) await new Promise<void>(resolve => { release = resolve })
    }), silent)
    const started = performance.now()
    for (let i = 0; i < 10; i++) log.record(event('a'))
    t.ok(performance.now() - started < 50, 'recording is in memory')
    await sleep(AUDIT_FLUSH_MS * 2)
    t.same(batches, [10], 'one batch after the timer')
    log.record(event('b'))
    release()
    await log.close()
    t.same(batches, [10, 1], 'close writes what came in meanwhile')
  })

  t.test('a failed write is kept and retried; close after close records nothing', async (t) => {
    let fail = true
    const written: string[] = []
    const log = createAuditLog(fakeStore(async (events) => {
      if (fail) throw new StoreError('unavailable', 'the database is unavailable')
      written.push(...events.map(e => e.tool))
    }), silent)
    log.record(event('one'))
    log.record(event('two'))
    await t.rejects(log.flush())
    fail = false
    await sleep(AUDIT_FLUSH_MS * 3)
    t.same(written, ['one', 'two'], 'retried by the timer, in order')
    await log.close()
    log.record(event('late'))
    await log.flush()
    t.same(written, ['one', 'two'])
  })

  t.test('a large backlog is written without waiting for the timer', async (t) => {
    const batches: number[] = []
    const log = createAuditLog(fakeStore(async (events) => { batches.push(events.length) }), silent)
    for (let i = 0; i < 500; i++) log.record(event('bulk'))
    await sleep(5)
    t.same(batches, [500])
    await log.close()
  })

  t.test('close when the database refuses: logged, not thrown', async (t) => {
    const errors: string[] = []
    const log = createAuditLog(fakeStore(async () => { throw new StoreError('unavailable', 'the database is unavailable') }), { ...silent, error: (_: unknown, msg: string) => { errors.push(msg) } } as unknown as FastifyBaseLogger)
    log.record(event('lost'))
    await log.close()
    t.ok(errors.some(m => /lost at shutdown/.test(m)))
  })
})

test('an event the database refuses is dropped alone, counted, and logged without its content', async (t) => {
  const written: string[] = []
  const lines: string[] = []
  let dropped = 0
  const log = createAuditLog(fakeStore(async (events) => {
    // Like PostgreSQL with a value it cannot store: the whole statement fails.
    if (events.some(e => e.tool.startsWith('bad'))) throw Object.assign(new Error('invalid byte sequence'), { code: '22021' })
    written.push(...events.map(e => e.tool))
  }), { ...silent, error: (obj: unknown, msg: string) => { lines.push(JSON.stringify(obj) + msg) } } as unknown as FastifyBaseLogger, (n) => { dropped += n })
  log.record(event('before'))
  log.record(event('bad-secret-looking-name'))
  log.record(event('after'))
  await log.flush()
  t.same(written, ['before', 'after'], 'the others are written, in order')
  t.equal(dropped, 1)
  log.record(event('later'))
  await log.flush()
  t.same(written, ['before', 'after', 'later'], 'nothing is held back')
  t.ok(lines.some(l => /audit events dropped/.test(l)))
  t.notMatch(lines.join('\n'), /bad-secret-looking-name/)
  await log.close()
})

test('bad text in a tool name is stored escaped; later events and a clean shutdown lose nothing', async (t) => {
  const env = await testEnv(t)
  const first = await buildMcp(t, { env })
  const nul = await rpc(first, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x\u0000', arguments: { 'k\u0000': 'v\ud800' } } })
  t.equal(nul.json().error?.code, -32602, 'an unknown tool')
  await rpc(first, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'lone\udc00', arguments: {} } })
  await first.audit.flush()
  await callTool(first, 'echo', { text: 'after' })
  await first.audit.flush()
  const { items } = await first.store.audit.list({ limit: 50 })
  t.ok(items.some(e => e.tool === 'x\\u0000' && (e.arguments as Record<string, unknown>)['k\u0000'] === 'v\ud800'), 'escaped name; arguments as JSON keeps them')
  t.ok(items.some(e => e.tool === 'lone\\udc00'))
  t.ok(items.some(e => e.tool === 'echo'), 'a later event is stored')

  await rpc(first, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'x\u0000', arguments: {} } })
  await Promise.all(Array.from({ length: 10 }, (_, i) => callTool(first, 'echo', { text: `n${i}` })))
  await first.close()
  const second = await buildMcp(t, { env })
  t.equal((await second.store.audit.list({ tool: 'echo', limit: 500 })).items.length, 11, 'every event after the bad one survives shutdown')
  t.equal((await second.store.audit.list({ tool: 'x\\u0000', limit: 500 })).items.length, 2)
  const metrics = await second.inject({ method: 'GET', url: '/metrics' })
  t.match(metrics.body, /audit_events_dropped_total 0/)
})
