import { test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { HOST, applicationWith, bearerFor, buildMcp, rpc } from './fixtures/util.js'

// The modern revision (2026-07-28) on POST /api/mcp, with raw requests: every refusal its
// status and code, every result its shape; and the legacy era beside it, unchanged.

const MODERN = '2026-07-28'
const SUPPORTED = [MODERN, '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05']
const SERVER_INFO = { name: 'iam-mcp', title: 'IAM MCP', version: '0.1.0' }
const META = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {}
}

/** Sentinel form of a header value, as clients send names that are not plain ASCII. */
const sentinel = (value: string): string => `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`

interface ModernOptions {
  params?: Record<string, unknown>
  /** Headers on top of (or, when undefined, removing) the ones a conforming client sends. */
  headers?: Record<string, string | undefined>
  id?: string | number
}

/** A conforming modern request: `_meta` in the body, the headers mirroring it. */
async function modern (app: FastifyInstance, method: string, opts: ModernOptions = {}): Promise<LightMyRequestResponse> {
  const params: Record<string, unknown> = { _meta: META, ...opts.params }
  const name = typeof params.name === 'string' ? { 'mcp-name': params.name } : {}
  return await rpc(app, { jsonrpc: '2.0', id: opts.id ?? 1, method, params }, {
    headers: { 'mcp-protocol-version': MODERN, 'mcp-method': method, ...name, ...opts.headers }
  })
}

test('server/discover: versions, capabilities, extensions, identity and cache hints, in both eras', async (t) => {
  const app = await buildMcp(t)
  const res = await modern(app, 'server/discover', { id: 'd' })
  t.equal(res.statusCode, 200)
  const expected = {
    resultType: 'complete',
    supportedVersions: SUPPORTED,
    capabilities: { tools: { listChanged: false }, extensions: { 'io.modelcontextprotocol/oauth-client-credentials': {}, 'io.modelcontextprotocol/enterprise-managed-authorization': {} } },
    instructions: res.json().result.instructions,
    ttlMs: res.json().result.ttlMs,
    cacheScope: 'public',
    _meta: { 'io.modelcontextprotocol/serverInfo': SERVER_INFO }
  }
  t.same(res.json(), { jsonrpc: '2.0', id: 'd', result: expected })
  t.type(expected.instructions, 'string')
  t.ok(Number.isInteger(expected.ttlMs) && expected.ttlMs > 0, 'a positive integer ttlMs')
  t.equal(res.headers['mcp-session-id'], undefined, 'no session')

  const withoutClientInfo = await modern(app, 'server/discover', { params: { _meta: { ...META, 'io.modelcontextprotocol/clientInfo': undefined } } })
  t.equal(withoutClientInfo.statusCode, 200, 'clientInfo is optional')

  for (const headers of [{}, { 'mcp-protocol-version': '2025-11-25' }]) {
    const legacy = await rpc(app, { jsonrpc: '2.0', id: 'd', method: 'server/discover' }, { headers })
    t.equal(legacy.statusCode, 200, `legacy ${JSON.stringify(headers)}`)
    t.same(legacy.json(), { jsonrpc: '2.0', id: 'd', result: expected }, 'the same answer in the legacy era')
  }

  for (const req of [modern(app, 'server/discover', { headers: { authorization: undefined } }), rpc(app, { jsonrpc: '2.0', id: 1, method: 'server/discover' }, { headers: { authorization: undefined } })]) {
    const none = await req
    t.equal(none.statusCode, 401, 'credentials first, in both eras')
    t.same(none.json(), { jsonrpc: '2.0', id: 1, error: { code: -32001, message: 'Unauthorized', data: 'Unauthorized operation' } })
    t.match(none.headers['www-authenticate'], /^Bearer realm=/)
  }
})

test('tools/list and tools/call: resultType, serverInfo, cache hints; the tools the scopes allow', async (t) => {
  const app = await buildMcp(t)
  const legacyList = (await rpc(app, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { headers: { 'mcp-protocol-version': '2025-11-25' } })).json()

  // Small ids take the cached whole answers, large ones are framed per request: both alike.
  for (const id of [1, 'list', 12345]) {
    const res = await modern(app, 'tools/list', { id })
    t.equal(res.statusCode, 200)
    const { result } = res.json()
    t.same(result, { ...legacyList.result, resultType: 'complete', ttlMs: result.ttlMs, cacheScope: 'private', _meta: { 'io.modelcontextprotocol/serverInfo': SERVER_INFO } }, `id ${String(id)}`)
    t.ok(Number.isInteger(result.ttlMs) && result.ttlMs > 0)
    t.equal(res.json().id, id)
  }
  const again = await rpc(app, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { headers: { 'mcp-protocol-version': '2025-11-25' } })
  t.same(again.json(), legacyList, 'the legacy page is not touched by the modern one')
  t.notOk('resultType' in legacyList.result)

  const restricted = await applicationWith(app, ['demo:read'])
  const names = (await modern(app, 'tools/list', { headers: { authorization: restricted.authorization } })).json().result.tools.map((tool: { name: string }) => tool.name)
  t.same(names, ['echo'], 'only the tools the scopes allow')
  const bearer = await bearerFor(app, ['demo:read', 'other:read'])
  t.same((await modern(app, 'tools/list', { headers: { authorization: bearer } })).json().result.tools.map((tool: { name: string }) => tool.name), ['echo', 'two_scopes'])

  const call = await modern(app, 'tools/call', { id: 7, params: { name: 'echo', arguments: { text: 'hi', times: 2 } } })
  t.equal(call.statusCode, 200)
  t.same(call.json(), {
    jsonrpc: '2.0',
    id: 7,
    result: {
      content: [{ type: 'text', text: JSON.stringify({ text: 'hihi', caller: call.json().result.structuredContent.caller }) }],
      structuredContent: { text: 'hihi', caller: call.json().result.structuredContent.caller },
      resultType: 'complete',
      _meta: { 'io.modelcontextprotocol/serverInfo': SERVER_INFO }
    }
  })
  const legacyCall = await rpc(app, { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi', times: 2 } } })
  t.notOk('resultType' in legacyCall.json().result, 'legacy results as before')
  t.same(legacyCall.json().result.structuredContent, call.json().result.structuredContent)

  const bad = await modern(app, 'tools/call', { params: { name: 'echo', arguments: { text: 1 } } })
  t.equal(bad.statusCode, 200)
  t.match(bad.json().result, { isError: true, resultType: 'complete' }, 'an isError result is a complete result')

  const unknown = await modern(app, 'tools/call', { params: { name: 'nope', arguments: {} } })
  t.equal(unknown.statusCode, 200)
  t.equal(unknown.json().error.code, -32602)
  const cursor = await modern(app, 'tools/list', { params: { cursor: 'bogus' } })
  t.same([cursor.statusCode, cursor.json().error.code], [200, -32602])

  const denied = await modern(app, 'tools/call', { params: { name: 'fail', arguments: {} }, headers: { authorization: restricted.authorization } })
  t.equal(denied.statusCode, 403)
  t.match(denied.json().error, { code: -32001, message: 'insufficient_scope' })
  t.match(denied.headers['www-authenticate'], /error="insufficient_scope"/)
})

test('_meta: protocolVersion and clientCapabilities are required → 400 -32602', async (t) => {
  const app = await buildMcp(t)
  const cases: Array<[string, unknown]> = [
    ['no _meta', undefined],
    ['_meta not an object', 'x'],
    ['no protocolVersion', { 'io.modelcontextprotocol/clientCapabilities': {} }],
    ['no clientCapabilities', { 'io.modelcontextprotocol/protocolVersion': MODERN }],
    ['clientCapabilities not an object', { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': [] }]
  ]
  for (const [name, meta] of cases) {
    const res = await rpc(app, { jsonrpc: '2.0', id: 3, method: 'tools/list', params: meta === undefined ? {} : { _meta: meta } }, {
      headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' }
    })
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().error.code, -32602, name)
    t.equal(res.json().id, 3, name)
  }
  const noParams = await rpc(app, { jsonrpc: '2.0', id: 4, method: 'server/discover' }, { headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'server/discover' } })
  t.same([noParams.statusCode, noParams.json().error.code], [400, -32602], 'the header alone makes a request modern')
})

test('mirrored headers must match the body → 400 -32020 (HeaderMismatch)', async (t) => {
  const app = await buildMcp(t)
  const callParams = { name: 'echo', arguments: { text: 'x' } }
  const cases: Array<[string, string, ModernOptions]> = [
    ['no MCP-Protocol-Version (the body names the version)', 'tools/list', { headers: { 'mcp-protocol-version': undefined } }],
    ['a legacy MCP-Protocol-Version with a modern body', 'tools/list', { headers: { 'mcp-protocol-version': '2025-11-25' } }],
    ['an unknown MCP-Protocol-Version with a modern body', 'tools/list', { headers: { 'mcp-protocol-version': '2030-01-01' } }],
    ['a modern header with another version in the body', 'server/discover', { params: { _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': 'v999.0.0' } } }],
    ['a modern header with a legacy version in the body', 'tools/list', { params: { _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': '2025-11-25' } } }],
    ['no Mcp-Method', 'tools/list', { headers: { 'mcp-method': undefined } }],
    ['another Mcp-Method', 'tools/list', { headers: { 'mcp-method': 'prompts/list' } }],
    ['Mcp-Method values are case-sensitive', 'tools/list', { headers: { 'mcp-method': 'TOOLS/LIST' } }],
    ['no Mcp-Name on tools/call', 'tools/call', { params: callParams, headers: { 'mcp-name': undefined } }],
    ['another Mcp-Name', 'tools/call', { params: callParams, headers: { 'mcp-name': 'wrong_tool_name' } }],
    ['a sentinel of another name', 'tools/call', { params: callParams, headers: { 'mcp-name': sentinel('echo2') } }],
    ['a sentinel that is not canonical Base64', 'tools/call', { params: callParams, headers: { 'mcp-name': '=?base64?ZWNobw?=' } }],
    ['a sentinel that is not UTF-8', 'tools/call', { params: callParams, headers: { 'mcp-name': '=?base64?/w==?=' } }]
  ]
  for (const [name, method, opts] of cases) {
    const res = await modern(app, method, { id: 9, ...opts })
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().error?.code, -32020, name)
    t.match(res.json().error?.message, /^Header mismatch: /, name)
    t.equal(res.json().id, 9, name)
  }

  const accepted: Array<[string, string, ModernOptions]> = [
    ['header names in any case', 'tools/list', { headers: { 'mcp-method': undefined, 'MCP-METHOD': 'tools/list' } }],
    ['whitespace around Mcp-Name', 'tools/call', { params: callParams, headers: { 'mcp-name': '  echo  ' } }],
    ['Mcp-Name in the sentinel form', 'tools/call', { params: callParams, headers: { 'mcp-name': sentinel('echo') } }]
  ]
  for (const [name, method, opts] of accepted) {
    const res = await modern(app, method, opts)
    t.equal(res.statusCode, 200, name)
    t.equal(res.json().result?.resultType, 'complete', name)
  }
  const nonAscii = await modern(app, 'tools/call', { params: { name: 'échø', arguments: {} }, headers: { 'mcp-name': sentinel('échø') } })
  t.same([nonAscii.statusCode, nonAscii.json().error?.code], [200, -32602], 'a non-ASCII name arrives decoded (and is an unknown tool)')
})

test('unsupported versions in either era → 400 -32022 with supported and requested', async (t) => {
  const app = await buildMcp(t)
  const expect = (res: LightMyRequestResponse, id: unknown, requested: string, name: string): void => {
    t.equal(res.statusCode, 400, name)
    t.match(res.json(), { jsonrpc: '2.0', id, error: { code: -32022, message: /^Unsupported /, data: { supported: SUPPORTED, requested } } }, name)
  }
  expect(await modern(app, 'server/discover', { id: 301, params: { _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': 'v999.0.0' } }, headers: { 'mcp-protocol-version': 'v999.0.0' } }), 301, 'v999.0.0', 'header and _meta')
  expect(await rpc(app, { jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': '2030-01-01' } } }), 2, '2030-01-01', '_meta alone')
  expect(await rpc(app, { jsonrpc: '2.0', id: 'x', method: 'tools/list' }, { headers: { 'mcp-protocol-version': '2030-01-01' } }), 'x', '2030-01-01', 'a legacy request')
  expect(await rpc(app, { jsonrpc: '2.0', method: 'notifications/initialized' }, { headers: { 'mcp-protocol-version': '2030-01-01' } }), null, '2030-01-01', 'a notification')
  expect(await rpc(app, [{ jsonrpc: '2.0', id: 1, method: 'ping' }], { headers: { 'mcp-protocol-version': '2030-01-01' } }), null, '2030-01-01', 'a batch')

  const none = await rpc(app, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { headers: { 'mcp-protocol-version': '2030-01-01', authorization: undefined } })
  t.equal(none.statusCode, 401, 'credentials before the version')
})

test('methods the modern revision does not have → 404 -32601; no batches', async (t) => {
  const app = await buildMcp(t)
  for (const method of ['initialize', 'ping', 'logging/setLevel', 'subscriptions/listen', 'resources/subscribe', 'prompts/list', 'unknown/method']) {
    const res = await modern(app, method, { id: 500 })
    t.equal(res.statusCode, 404, method)
    t.same(res.json(), { jsonrpc: '2.0', id: 500, error: { code: -32601, message: `Method not found: ${method}` } }, method)
  }
  const init = await rpc(app, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: MODERN, capabilities: {}, clientInfo: { name: 'x', version: '1' } } })
  t.equal(init.statusCode, 200, 'a legacy initialize offering the modern version')
  t.equal(init.json().result.protocolVersion, '2025-11-25', 'is answered with the newest legacy version, never the modern one')

  const request = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META } }
  for (const headers of [{ 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' }, { 'mcp-protocol-version': '2025-03-26' }]) {
    const res = await rpc(app, [request], { headers })
    t.equal(res.statusCode, 400, JSON.stringify(headers))
    t.equal(res.json().error.code, -32600)
    t.match(res.json().error.message, /not supported in protocol version 2026-07-28/)
  }

  const notification = await rpc(app, { jsonrpc: '2.0', method: 'notifications/whatever', params: { _meta: META } }, { headers: { 'mcp-protocol-version': MODERN } })
  t.equal(notification.statusCode, 202, 'a notification is accepted, unanswered')
})

test('modern tools/call counts against the tool-call limit', async (t) => {
  const app = await buildMcp(t, { env: { RATE_LIMIT_MCP_MAX: '2' } })
  const statuses: number[] = []
  for (let i = 0; i < 3; i++) statuses.push((await modern(app, 'tools/call', { params: { name: 'echo', arguments: { text: 'x' } } })).statusCode)
  t.same(statuses, [200, 200, 429])
  t.equal((await modern(app, 'tools/list')).statusCode, 200, 'other methods are not counted')
})

test('CORS: the preflight allows the mirrored headers', async (t) => {
  const app = await buildMcp(t, { env: { ALLOWED_ORIGINS: 'https://console.example' } })
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/api/mcp',
    headers: { host: HOST, origin: 'https://console.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'mcp-protocol-version, mcp-method, mcp-name, mcp-param-region, x-other' }
  })
  t.equal(preflight.statusCode, 204)
  const allowed = String(preflight.headers['access-control-allow-headers']).toLowerCase().split(', ')
  for (const h of ['mcp-protocol-version', 'mcp-method', 'mcp-name', 'mcp-param-region', 'authorization', 'content-type']) t.ok(allowed.includes(h), h)
  t.notOk(allowed.includes('x-other'), 'only the Mcp-Param-* names are echoed')
  const res = await modern(app, 'tools/list', { headers: { origin: 'https://console.example' } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['access-control-allow-origin'], 'https://console.example')
})
