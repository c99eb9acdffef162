import { test } from 'tap'
import type { Principal } from '../../lib/principal.js'
import type { CallOutcome } from '../../lib/mcp/call.js'
import { createDispatch, type DispatchInput, type DispatchOptions } from '../../lib/mcp/dispatch.js'
import { StoreError } from '../../lib/storage/errors.js'

// The dispatch alone, without a server: what reaches it is already authenticated; the HTTP
// half (credentials, headers, 202) is test/mcp/endpoint.test.ts's.

const principal: Principal = {
  kind: 'application',
  id: 'built-in/app',
  organization: 'built-in',
  name: 'app',
  isAdmin: false,
  isGlobalAdmin: true,
  clientId: 'app-client',
  scopes: new Set(['demo:read']),
  via: 'test'
}

const quiet = { debug () {}, info () {}, warn () {}, error () {} }

function dispatcher (outcome: (name: string) => Promise<CallOutcome> = async () => ({ kind: 'result', result: { content: [] } }), options: Partial<DispatchOptions> = {}): ReturnType<typeof createDispatch> {
  return createDispatch({
    listAnswer: (_scopes, cursor, id) => cursor === undefined ? Buffer.from(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"tools":[]}}`) : undefined,
    callTool: async (_principal, name) => await outcome(name),
    toolCallLimit: { max: 5, windowMs: 60_000 },
    serverVersion: '9.9.9',
    ...options
  })
}

function input (body: unknown, more: Partial<DispatchInput> = {}): DispatchInput {
  return { body, principal, protocolVersion: '2025-11-25', publicBase: 'http://iam.test', countToolCalls: async () => undefined, log: quiet, ...more }
}

const call = (id: number, name: string): unknown => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } })

test('single requests: answers with their status, nothing for notifications', async (t) => {
  const dispatch = dispatcher()
  t.same(await dispatch(input({ jsonrpc: '2.0', id: 1, method: 'ping' })), { status: 200, body: '{"jsonrpc":"2.0","id":1,"result":{}}' })
  t.equal(await dispatch(input({ jsonrpc: '2.0', method: 'notifications/initialized' })), undefined)
  t.equal(await dispatch(input({ jsonrpc: '2.0', id: 1, result: {} })), undefined, 'a client response')
  const list = await dispatch(input({ jsonrpc: '2.0', id: 'a', method: 'tools/list' }))
  t.equal(list?.body.toString(), '{"jsonrpc":"2.0","id":"a","result":{"tools":[]}}')
  t.same(JSON.parse(String((await dispatch(input({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: { cursor: 'x' } })))?.body)).error, { code: -32602, message: 'Invalid cursor' })
  const missing = await dispatch(input({ jsonrpc: '2.0', id: 3, method: 'constructor' }))
  t.same(JSON.parse(String(missing?.body)).error, { code: -32601, message: 'Method not found: constructor' }, 'only the methods of the table')
  const invalid = await dispatch(input({ jsonrpc: '1.0', id: 4, method: 'ping' }))
  t.equal(invalid?.status, 400)
  t.same(JSON.parse(String(invalid?.body)), { jsonrpc: '2.0', id: 4, error: { code: -32600, message: 'Invalid Request: jsonrpc must be "2.0"' } })
})

test('initialize echoes a version we speak, else offers the latest; the header is not asked of it', async (t) => {
  const dispatch = dispatcher()
  const init = (version: string): unknown => ({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: version } })
  const echoed = JSON.parse(String((await dispatch(input(init('2025-06-18'), { protocolVersion: 'nonsense' })))?.body))
  t.equal(echoed.result.protocolVersion, '2025-06-18')
  t.same(echoed.result.serverInfo, { name: 'iam-mcp', title: 'IAM MCP', version: '9.9.9' })
  t.equal(JSON.parse(String((await dispatch(input(init('1999-01-01'))))?.body)).result.protocolVersion, '2025-11-25')
})

test('the protocol version: unknown → 400, absent → the transport default, which allows batches', async (t) => {
  const dispatch = dispatcher()
  const bad = await dispatch(input({ jsonrpc: '2.0', id: 1, method: 'ping' }, { protocolVersion: '2030-01-01' }))
  t.equal(bad?.status, 400)
  t.match(JSON.parse(String(bad?.body)).error.message, /^Unsupported MCP-Protocol-Version: 2030-01-01 \(supported: /)
  const batch = await dispatch(input([{ jsonrpc: '2.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', method: 'n' }], { protocolVersion: undefined }))
  t.same(batch, { status: 200, body: '[{"jsonrpc":"2.0","id":1,"result":{}}]', challenge: undefined })
  const refused = await dispatch(input([{ jsonrpc: '2.0', id: 1, method: 'ping' }]))
  t.equal(refused?.status, 400, 'no batches in 2025-11-25')
  t.equal(await dispatch(input([{ jsonrpc: '2.0', method: 'n' }], { protocolVersion: '2025-03-26' })), undefined, 'notifications only')
})

test('tool calls: counted first, then framed by outcome', async (t) => {
  const outcomes: Record<string, CallOutcome> = {
    ok: { kind: 'result', result: { content: [{ type: 'text', text: 'hi' }] } },
    nope: { kind: 'unknown_tool', name: 'nope' },
    secret: { kind: 'denied', tool: 'secret', required: ['demo:write'], granted: ['demo:read'] },
    down: { kind: 'failed', unavailable: true }
  }
  const dispatch = dispatcher(async (name) => {
    if (name === 'throws') throw new StoreError('unavailable', 'the database is unavailable')
    return outcomes[name]
  })
  t.same(await dispatch(input(call(1, 'ok'))), { status: 200, body: '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}' })
  t.same(JSON.parse(String((await dispatch(input(call(2, 'nope'))))?.body)).error, { code: -32602, message: 'Unknown tool: nope' })
  const denied = await dispatch(input(call(3, 'secret')))
  t.equal(denied?.status, 403)
  t.equal(denied?.challenge, 'Bearer error="insufficient_scope", scope="demo:read demo:write", resource_metadata="http://iam.test/.well-known/oauth-protected-resource"')
  t.equal((await dispatch(input(call(4, 'down'))))?.status, 503)
  const errors: string[] = []
  const thrown = await dispatch(input(call(5, 'throws'), { log: { ...quiet, error: (_: unknown, message?: string) => { errors.push(String(message)) } } }))
  t.same(thrown, { status: 503, body: '{"jsonrpc":"2.0","id":5,"error":{"code":-32603,"message":"Service unavailable"}}' })
  t.same(errors, ['MCP request failed: database unavailable'])

  const counted: number[] = []
  const limited = await dispatch(input([call(1, 'ok'), call(2, 'ok'), { jsonrpc: '2.0', id: 3, method: 'ping' }], {
    protocolVersion: '2025-03-26',
    countToolCalls: async (calls) => { counted.push(calls); return 7 }
  }))
  t.same(counted, [2], 'a batch counts its tool calls at once')
  t.same(limited, { status: 429, body: '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Too Many Requests: more than 5 tool calls in 60 s; retry later"}}', retryAfter: 7 })
  counted.length = 0
  await dispatch(input({ jsonrpc: '2.0', id: 1, method: 'ping' }, { countToolCalls: async (calls) => { counted.push(calls); return undefined } }))
  t.same(counted, [], 'other methods are not counted')
})

const MODERN_META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} }
const SERVER_META = { 'io.modelcontextprotocol/serverInfo': { name: 'iam-mcp', title: 'IAM MCP', version: '9.9.9' } }

/** A modern request and the headers a conforming client mirrors from it. */
function modernInput (method: string, params: Record<string, unknown> = {}, more: Partial<DispatchInput> = {}): DispatchInput {
  const name = typeof params.name === 'string' ? { mcpName: params.name } : {}
  return input({ jsonrpc: '2.0', id: 1, method, params: { _meta: MODERN_META, ...params } }, { protocolVersion: '2026-07-28', mcpMethod: method, ...name, ...more })
}

test('the modern era: results carry resultType and serverInfo; tools/list pages get the hints as members', async (t) => {
  const members: Array<string | undefined> = []
  const dispatch = dispatcher(async () => ({ kind: 'result', result: { content: [] }, json: '{"content":[]}' }), {
    listAnswer: (_scopes, _cursor, id, extra) => {
      members.push(extra)
      return Buffer.from(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"tools":[]${extra === undefined ? '' : `,${extra}`}}}`)
    }
  })
  const list = JSON.parse(String((await dispatch(modernInput('tools/list')))?.body))
  t.same(list.result, { tools: [], resultType: 'complete', ttlMs: list.result.ttlMs, cacheScope: 'private', _meta: SERVER_META })
  await dispatch(input({ jsonrpc: '2.0', id: 1, method: 'tools/list' }))
  t.same(members.map(m => m === undefined), [false, true], 'legacy pages get no members')

  const call = await dispatch(modernInput('tools/call', { name: 'x', arguments: {} }))
  t.same(JSON.parse(String(call?.body)), { jsonrpc: '2.0', id: 1, result: { content: [], resultType: 'complete', _meta: SERVER_META } })
  const legacyCall = await dispatch(input(call1('x')))
  t.equal(legacyCall?.body, '{"jsonrpc":"2.0","id":1,"result":{"content":[]}}')

  const discover = JSON.parse(String((await dispatch(modernInput('server/discover')))?.body))
  t.same(discover.result.capabilities, { tools: { listChanged: false }, extensions: { 'io.modelcontextprotocol/oauth-client-credentials': {}, 'io.modelcontextprotocol/enterprise-managed-authorization': {} } })
  t.equal(discover.result.cacheScope, 'public')
  t.same(discover.result._meta, SERVER_META)
  const withExtension = dispatcher(undefined, { extensions: [{ id: 'io.modelcontextprotocol/example', settings: {} }] })
  t.same(JSON.parse(String((await withExtension(modernInput('server/discover')))?.body)).result.capabilities.extensions, { 'io.modelcontextprotocol/example': {} }, 'extensions come from one list')
})

const call1 = (name: string): unknown => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } })

test('the modern era: refusals in order, -32602 → -32020 → 404 → 429', async (t) => {
  const counted: number[] = []
  const dispatch = dispatcher(undefined)
  const code = async (i: DispatchInput): Promise<[number | undefined, number | undefined]> => {
    const a = await dispatch(i)
    return [a?.status, JSON.parse(String(a?.body)).error?.code]
  }
  t.same(await code(input({ jsonrpc: '2.0', id: 1, method: 'nope' }, { protocolVersion: '2026-07-28', mcpMethod: 'other' })), [400, -32602], '_meta before headers')
  t.same(await code(modernInput('nope', {}, { mcpMethod: 'other' })), [400, -32020], 'headers before the method')
  t.same(await code(modernInput('nope')), [404, -32601])
  t.same(await code(modernInput('tools/call', { name: 'a' }, { mcpName: 'b' })), [400, -32020])
  t.same(await code(modernInput('tools/call', { name: 'a' }, { countToolCalls: async (n) => { counted.push(n); return 3 } })), [429, -32600])
  t.same(counted, [1])
  t.same(await code(modernInput('ping', {}, { countToolCalls: async () => 3 })), [404, -32601], 'only what exists is counted')
})
