import { test } from 'tap'
import { build } from '../helper.js'
import { BASE, BOOTSTRAP_BASIC, HOST, applicationWith, bearerFor, buildMcp, rpc, sessionCookieFor } from './fixtures/util.js'

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'test', version: '1' } } }
const LIST = { jsonrpc: '2.0', id: 2, method: 'tools/list' }
const refusal = (message: unknown): unknown => ({ jsonrpc: '2.0', id: null, error: { code: -32600, message } })

test('transport refusals, each with the contract status and a JSON-RPC body', async (t) => {
  const app = await buildMcp(t, { env: { BODY_LIMIT: '2048', ALLOWED_ORIGINS: 'https://console.example' } })

  t.test('Host that is not ours → 403', async (t) => {
    const res = await rpc(app, LIST, { headers: { host: 'evil.example' } })
    t.equal(res.statusCode, 403)
    t.match(res.json(), refusal(/Host/))
  })

  t.test('Origin that is neither the public origin nor allowed → 403, even with good credentials', async (t) => {
    const res = await rpc(app, LIST, { headers: { origin: 'https://evil.example' } })
    t.equal(res.statusCode, 403)
    t.match(res.json(), refusal(/Origin/))
    t.equal(res.headers['access-control-allow-origin'], undefined)
    const nullOrigin = await rpc(app, LIST, { headers: { origin: 'null' } })
    t.equal(nullOrigin.statusCode, 403)
  })

  t.test('the public origin and ALLOWED_ORIGINS are accepted, with CORS headers', async (t) => {
    const own = await rpc(app, LIST, { headers: { origin: BASE } })
    t.equal(own.statusCode, 200)
    const allowed = await rpc(app, LIST, { headers: { origin: 'https://console.example' } })
    t.equal(allowed.statusCode, 200)
    t.equal(allowed.headers['access-control-allow-origin'], 'https://console.example')
    t.match(allowed.headers['access-control-expose-headers'], /WWW-Authenticate/)
    t.match(allowed.headers['access-control-expose-headers'], /Mcp-Session-Id/)
    const unauthorized = await rpc(app, LIST, { headers: { origin: 'https://console.example', authorization: undefined } })
    t.equal(unauthorized.statusCode, 401)
    t.equal(unauthorized.headers['access-control-allow-origin'], 'https://console.example', 'a browser client can read the 401 challenge')
    t.type(unauthorized.headers['www-authenticate'], 'string')
    const malformed = await rpc(app, undefined, { raw: '{', headers: { origin: 'https://console.example' } })
    t.equal(malformed.statusCode, 400)
    t.equal(malformed.headers['access-control-allow-origin'], 'https://console.example', 'and refusals from the error handler')
  })

  t.test('CORS preflight: allowed origin → 204 with the MCP headers; other origins → 403', async (t) => {
    const ok = await app.inject({ method: 'OPTIONS', url: '/api/mcp', headers: { host: HOST, origin: 'https://console.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, mcp-protocol-version' } })
    t.equal(ok.statusCode, 204)
    t.equal(ok.headers['access-control-allow-origin'], 'https://console.example')
    t.match(ok.headers['access-control-allow-methods'], /POST/)
    for (const h of ['MCP-Protocol-Version', 'Authorization', 'Content-Type', 'Mcp-Session-Id', 'Last-Event-ID']) {
      t.match(ok.headers['access-control-allow-headers'], h)
    }
    const bad = await app.inject({ method: 'OPTIONS', url: '/api/mcp', headers: { host: HOST, origin: 'https://evil.example', 'access-control-request-method': 'POST' } })
    t.equal(bad.statusCode, 403)
    t.equal(bad.headers['access-control-allow-origin'], undefined)
  })

  t.test('GET and DELETE → 405 with Allow: POST', async (t) => {
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await app.inject({ method, url: '/api/mcp', headers: { host: HOST, accept: 'text/event-stream', authorization: BOOTSTRAP_BASIC } })
      t.equal(res.statusCode, 405, method)
      t.equal(res.headers.allow, 'POST')
      t.match(res.json(), refusal(/Method Not Allowed/))
    }
  })

  t.test('non-JSON Content-Type → 415 (text/plain included), and none at all', async (t) => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', undefined]) {
      const res = await rpc(app, LIST, { headers: { 'content-type': type } })
      t.equal(res.statusCode, 415, String(type))
      t.match(res.json(), refusal(/Unsupported Media Type/))
    }
    const withCharset = await rpc(app, LIST, { headers: { 'content-type': 'application/json; charset=utf-8' } })
    t.equal(withCharset.statusCode, 200)
  })

  t.test('Accept: */*, none, or JSON → JSON; only an event stream → 406', async (t) => {
    for (const accept of ['*/*', undefined, 'application/json', 'application/*', 'text/html, */*;q=0.1']) {
      const res = await rpc(app, LIST, { headers: { accept } })
      t.equal(res.statusCode, 200, String(accept))
      t.match(res.headers['content-type'], /^application\/json/)
    }
    for (const accept of ['text/event-stream', 'text/html', 'application/json;q=0']) {
      const res = await rpc(app, LIST, { headers: { accept } })
      t.equal(res.statusCode, 406, accept)
      t.match(res.json(), refusal(/Not Acceptable/))
    }
  })

  t.test('a body past BODY_LIMIT → 413 with a JSON-RPC error', async (t) => {
    const res = await rpc(app, { ...LIST, params: { pad: 'x'.repeat(4096) } })
    t.equal(res.statusCode, 413)
    t.match(res.json(), refusal(/2048 bytes/))
  })

  t.test('malformed JSON → 400 -32700, id null', async (t) => {
    for (const raw of ['{"jsonrpc":"2.0",', '', 'nope', '{"__proto__":{"x":1},"jsonrpc":"2.0","id":1,"method":"ping"}', '{"constructor":{"prototype":{"x":1}},"jsonrpc":"2.0","id":1,"method":"ping"}']) {
      const res = await rpc(app, undefined, { raw })
      t.equal(res.statusCode, 400, JSON.stringify(raw))
      t.same(res.json(), { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } })
    }
  })
})

test('which refusal wins: Host/Origin → 415 → 413 → -32700 → 401 → -32600 → version 400', async (t) => {
  const app = await buildMcp(t, { env: { BODY_LIMIT: '2048' } })
  const noAuth = { authorization: undefined }
  const big = JSON.stringify({ pad: 'x'.repeat(4096) })

  t.equal((await rpc(app, undefined, { raw: 'x', headers: { host: 'evil.example', 'content-type': 'text/plain', ...noAuth } })).statusCode, 403, 'Host before Content-Type')
  t.equal((await rpc(app, undefined, { raw: 'x', headers: { origin: 'https://evil.example', 'content-type': 'text/plain', ...noAuth } })).statusCode, 403, 'Origin before Content-Type')
  t.equal((await rpc(app, undefined, { raw: big, headers: { 'content-type': 'text/plain', ...noAuth } })).statusCode, 415, 'Content-Type before size')
  t.equal((await rpc(app, undefined, { raw: big + '{', headers: noAuth })).statusCode, 413, 'size before JSON')
  t.equal((await rpc(app, undefined, { raw: '{', headers: noAuth })).statusCode, 400, 'JSON before credentials')
  t.equal((await rpc(app, { jsonrpc: '1.0', id: 3 }, { headers: noAuth })).statusCode, 401, 'credentials before shape')
  t.equal((await rpc(app, LIST, { headers: { ...noAuth, 'mcp-protocol-version': '1999-01-01' } })).statusCode, 401, 'credentials before version')
  const shape = await rpc(app, { jsonrpc: '1.0', id: 3, method: 'ping' }, { headers: { 'mcp-protocol-version': '1999-01-01' } })
  t.equal(shape.statusCode, 400, 'shape before version')
  t.equal(shape.json().error.code, -32600)
  t.equal(shape.json().id, 3)
  const version = await rpc(app, LIST, { headers: { 'mcp-protocol-version': '1999-01-01' } })
  t.equal(version.statusCode, 400)
  // UnsupportedProtocolVersionError (-32022) in either era, with what a client can retry with.
  t.same(version.json(), { jsonrpc: '2.0', id: 2, error: { code: -32022, message: version.json().error.message, data: { supported: ['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'], requested: '1999-01-01' } } })
  t.match(version.json().error.message, /Unsupported MCP-Protocol-Version/)
})

test('credentials: 401 with the contract body and challenge', async (t) => {
  const app = await buildMcp(t)
  const challengeStart = `Bearer realm="/.well-known/oauth-protected-resource", resource_metadata="${BASE}/.well-known/oauth-protected-resource", scope="demo:read demo:write other:read"`

  const none = await rpc(app, { jsonrpc: '2.0', id: 'abc', method: 'tools/list' }, { headers: { authorization: undefined } })
  t.equal(none.statusCode, 401)
  t.same(none.json(), { jsonrpc: '2.0', id: 'abc', error: { code: -32001, message: 'Unauthorized', data: 'Unauthorized operation' } })
  t.equal(none.headers['www-authenticate'], challengeStart)

  const badBasic = await rpc(app, LIST, { headers: { authorization: 'Basic ' + Buffer.from('test-bootstrap-client:wrong').toString('base64') } })
  t.equal(badBasic.statusCode, 401)
  t.equal(badBasic.json().id, 2)

  const tampered = await rpc(app, LIST, { headers: { authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln' } })
  t.equal(tampered.statusCode, 401)
  t.match(tampered.headers['www-authenticate'], /^Bearer realm=.*, error="invalid_token"/)

  const otherAudience = await rpc(app, LIST, { headers: { authorization: await bearerFor(app, ['demo:read'], 'https://elsewhere.example') } })
  t.equal(otherAudience.statusCode, 401, 'a token for another resource')

  const cookie = await sessionCookieFor(app)
  const badBearerAndCookie = await rpc(app, LIST, { headers: { authorization: 'Bearer nonsense', cookie } })
  t.equal(badBearerAndCookie.statusCode, 401, 'a bad Bearer token is 401 even with a valid cookie')

  const token = (await bearerFor(app, ['demo:read'])).slice('Bearer '.length)
  const query = await app.inject({ method: 'POST', url: `/api/mcp?access_token=${token}`, headers: { host: HOST, 'content-type': 'application/json' }, payload: JSON.stringify(LIST) })
  t.equal(query.statusCode, 401, 'a token in the query string is ignored')

  const batch = await rpc(app, [LIST], { headers: { authorization: undefined } })
  t.equal(batch.statusCode, 401)
  t.equal(batch.json().id, null)

  const notification = await rpc(app, { jsonrpc: '2.0', method: 'notifications/initialized' }, { headers: { authorization: undefined } })
  t.equal(notification.statusCode, 401, 'notifications need credentials too')

  t.test('cookie: accepted without Origin; refused from a foreign Origin', async (t) => {
    const plain = await rpc(app, LIST, { headers: { authorization: undefined, cookie } })
    t.equal(plain.statusCode, 200)
    const foreign = await rpc(app, LIST, { headers: { authorization: undefined, cookie, origin: 'https://evil.example' } })
    t.equal(foreign.statusCode, 403)
  })
})

test('JSON-RPC shape → 400 -32600 with the id when it can be read', async (t) => {
  const app = await buildMcp(t)
  const cases: Array<[unknown, unknown]> = [
    [{ id: 1, method: 'ping' }, 1],
    [{ jsonrpc: '2.0', id: 2 }, 2],
    [{ jsonrpc: '2.0', id: null, method: 'ping' }, null],
    [{ jsonrpc: '2.0', id: { x: 1 }, method: 'ping' }, null],
    [{ jsonrpc: '2.0', id: 'q', method: 42 }, 'q'],
    [{ jsonrpc: '2.0', id: 5, method: 'ping', params: [1, 2] }, 5],
    [{ jsonrpc: '2.0', id: 6, method: 'ping', params: 'x' }, 6],
    ['"just a string"', null],
    [42, null]
  ]
  for (const [body, id] of cases) {
    const res = await rpc(app, body)
    t.equal(res.statusCode, 400, JSON.stringify(body))
    t.equal(res.json().error.code, -32600)
    t.match(res.json().error.message, /^Invalid Request/)
    t.equal(res.json().id, id)
  }
})

test('lifecycle: initialize, notifications, ping, unknown methods', async (t) => {
  const app = await buildMcp(t)

  for (const version of ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05']) {
    const res = await rpc(app, { ...INIT, params: { ...INIT.params, protocolVersion: version } })
    t.equal(res.statusCode, 200)
    const { result } = res.json()
    t.equal(result.protocolVersion, version, `echoes ${version}`)
    t.same(result.capabilities, { tools: { listChanged: false } })
    t.equal(result.serverInfo.name, 'iam-mcp')
    t.equal(result.serverInfo.version, '0.1.0')
    t.type(result.instructions, 'string')
    t.equal(res.headers['mcp-session-id'], undefined, 'stateless: no session')
  }
  const unknown = await rpc(app, { ...INIT, params: { ...INIT.params, protocolVersion: '2099-01-01' } })
  t.equal(unknown.json().result.protocolVersion, '2025-11-25', 'an unknown version gets the latest')
  const ignoresHeader = await rpc(app, INIT, { headers: { 'mcp-protocol-version': '1999-01-01' } })
  t.equal(ignoresHeader.statusCode, 200, 'initialize negotiates in its body, not the header')
  const noVersion = await rpc(app, { ...INIT, params: {} })
  t.equal(noVersion.json().error.code, -32602)

  for (const body of [
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } },
    { jsonrpc: '2.0', method: 'notifications/whatever' },
    { jsonrpc: '2.0', id: 99, result: {} }
  ]) {
    const res = await rpc(app, body)
    t.equal(res.statusCode, 202, JSON.stringify(body))
    t.equal(res.body, '')
  }

  const ping = await rpc(app, { jsonrpc: '2.0', id: 'p', method: 'ping' }, { headers: { 'mcp-protocol-version': '2025-06-18' } })
  t.same(ping.json(), { jsonrpc: '2.0', id: 'p', result: {} })

  for (const method of ['resources/list', 'prompts/list', 'nope']) {
    const res = await rpc(app, { jsonrpc: '2.0', id: 7, method })
    t.equal(res.statusCode, 200)
    t.equal(res.json().error.code, -32601, method)
  }
})

test('batches: accepted for 2025-03-26 and older, -32600 for newer', async (t) => {
  const app = await buildMcp(t)
  const batch = [
    { jsonrpc: '2.0', id: 1, method: 'ping' },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'a' } } },
    { jsonrpc: '2.0', id: 3, method: 'nope' },
    { bad: true },
    { jsonrpc: '2.0', id: 4, method: 'initialize', params: INIT.params }
  ]
  for (const version of [undefined, '2025-03-26', '2024-11-05']) {
    const res = await rpc(app, batch, { headers: { 'mcp-protocol-version': version } })
    t.equal(res.statusCode, 200, String(version))
    const answers = res.json()
    t.equal(answers.length, 5, 'one answer per request, none for the notification')
    t.same(answers[0], { jsonrpc: '2.0', id: 1, result: {} })
    t.equal(answers[1].result.structuredContent.text, 'a')
    t.equal(answers[2].error.code, -32601)
    t.same(answers[3], { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: jsonrpc must be "2.0"' } })
    t.equal(answers[4].error.code, -32600, 'initialize must not be batched')
  }
  for (const version of ['2025-06-18', '2025-11-25']) {
    const res = await rpc(app, batch, { headers: { 'mcp-protocol-version': version } })
    t.equal(res.statusCode, 400, version)
    t.equal(res.json().error.code, -32600)
    t.equal(res.json().id, null)
  }
  const empty = await rpc(app, [])
  t.equal(empty.statusCode, 400)
  t.equal(empty.json().error.code, -32600)
  const notificationsOnly = await rpc(app, [{ jsonrpc: '2.0', method: 'notifications/initialized' }])
  t.equal(notificationsOnly.statusCode, 202)
  t.equal(notificationsOnly.body, '')
})

test('a batch holds at most 20 messages: a larger one is refused whole, before any of it runs', async (t) => {
  const app = await build(t, { env: { PUBLIC_URL: BASE } })
  const addUsers = (prefix: string, n: number): unknown[] => Array.from({ length: n }, (_, i) =>
    ({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'add_user', arguments: { owner: 'built-in', name: `${prefix}-${i}` } } }))

  const tooLarge = await rpc(app, addUsers('large', 21), { headers: { 'mcp-protocol-version': '2025-03-26' } })
  t.equal(tooLarge.statusCode, 400)
  t.same(tooLarge.json(), { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'a batch holds at most 20 messages; this one holds 21' } })
  for (let i = 0; i < 21; i++) t.equal(await app.store.users.find(`built-in/large-${i}`), undefined, `large-${i} was not added`)

  const largest = await rpc(app, addUsers('full', 20), { headers: { 'mcp-protocol-version': '2024-11-05' } })
  t.equal(largest.statusCode, 200, 'a batch of 20 is served')
  t.equal(largest.json().length, 20)
  t.ok(largest.json().every((a: { result?: { isError?: boolean } }) => a.result !== undefined && a.result.isError !== true), 'every call in it ran')
})

test('tools/call is limited per caller, every request of a batch counted, before any of it runs', async (t) => {
  const MAX = 25
  const app = await build(t, { env: { PUBLIC_URL: BASE, RATE_LIMIT_MCP_MAX: String(MAX), RATE_LIMIT_WINDOW: '60000' } })
  const call = (id: number, name: string, args: Record<string, unknown> = {}): unknown => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } })
  const legacy = { 'mcp-protocol-version': '2025-03-26' }

  const batch = await rpc(app, Array.from({ length: 20 }, (_, i) => call(i, 'get_account')), { headers: legacy })
  t.equal(batch.statusCode, 200, 'a batch of 20 calls: 20 counted')
  for (let i = 0; i < MAX - 20; i++) t.equal((await rpc(app, call(100 + i, 'get_account'))).statusCode, 200, `single call ${21 + i} of ${MAX}`)
  for (let i = 0; i < 10; i++) t.equal((await rpc(app, LIST)).statusCode, 200, 'tools/list is not counted')

  const over = await rpc(app, [call(1, 'add_user', { owner: 'built-in', name: 'over-1' }), call(2, 'add_user', { owner: 'built-in', name: 'over-2' })], { headers: legacy })
  t.equal(over.statusCode, 429, 'a batch past the limit is refused whole')
  t.match(over.headers['retry-after'], /^\d+$/, 'with Retry-After')
  t.ok(Number(over.headers['retry-after']) >= 1 && Number(over.headers['retry-after']) <= 60, 'within the window')
  t.same(over.json(), { jsonrpc: '2.0', id: null, error: { code: -32600, message: `Too Many Requests: more than ${MAX} tool calls in 60 s; retry later` } }, 'in the transport-refusal shape')
  t.equal(await app.store.users.find('built-in/over-1'), undefined, 'none of it ran')
  t.equal(await app.store.users.find('built-in/over-2'), undefined)

  const single = await rpc(app, call(200, 'get_account'))
  t.equal(single.statusCode, 429, 'a single call too')
  t.equal((await rpc(app, LIST)).statusCode, 200, 'tools/list still answers')
  const other = await rpc(app, call(300, 'get_account'), { headers: { authorization: await bearerFor(app, ['account:read']) } })
  t.equal(other.statusCode, 200, 'another caller is not affected')
})

test('tools/list: scope filtering, unrestricted sessions, no scope → []', async (t) => {
  const app = await buildMcp(t)
  const names = (res: { json: () => { result: { tools: Array<{ name: string }> } } }): string[] => res.json().result.tools.map(tool => tool.name)

  const all = await rpc(app, LIST)
  t.same(names(all), ['echo', 'fail', 'set_password', 'two_scopes'], 'the bootstrap application holds every scope')
  const echo = all.json().result.tools[0]
  t.same(Object.keys(echo).sort(), ['annotations', 'description', 'inputSchema', 'name', 'outputSchema', 'title'])
  t.equal(echo.inputSchema.type, 'object')
  t.same(echo.inputSchema.required, ['text'])
  t.match(echo.annotations, { readOnlyHint: true, idempotentHint: true })
  t.equal(all.json().result.nextCursor, undefined)

  const reader = await applicationWith(app, ['demo:read'])
  t.same(names(await rpc(app, LIST, { headers: { authorization: reader.authorization } })), ['echo'])
  const readerBearer = await bearerFor(app, ['demo:read', 'other:read'])
  t.same(names(await rpc(app, LIST, { headers: { authorization: readerBearer } })), ['echo', 'two_scopes'], 'a tool needs all of its scopes')
  const writer = await bearerFor(app, ['demo:write'])
  t.same(names(await rpc(app, LIST, { headers: { authorization: writer } })), ['fail', 'set_password'], 'write does not imply read')
  const nothing = await applicationWith(app, ['unrelated:read'])
  const empty = await rpc(app, LIST, { headers: { authorization: nothing.authorization } })
  t.same(empty.json().result, { tools: [] }, 'no usable scope → tools: [], never null')
  const cookie = await sessionCookieFor(app)
  t.same(names(await rpc(app, LIST, { headers: { authorization: undefined, cookie } })), ['echo', 'fail', 'set_password', 'two_scopes'], 'a session is unrestricted')

  const badCursor = await rpc(app, { ...LIST, params: { cursor: 'not-ours' } })
  t.equal(badCursor.statusCode, 200)
  t.equal(badCursor.json().error.code, -32602)
  const numberCursor = await rpc(app, { ...LIST, params: { cursor: 5 } })
  t.equal(numberCursor.json().error.code, -32602)
})

test('tools/call: results, isError results, refusals and failures', async (t) => {
  const app = await buildMcp(t)
  const call = (name: unknown, args?: unknown, headers?: Record<string, string | undefined>): ReturnType<typeof rpc> =>
    rpc(app, { jsonrpc: '2.0', id: 10, method: 'tools/call', params: args === undefined ? { name } : { name, arguments: args } }, { headers })

  const okRes = await call('echo', { text: 'hi', times: 2 })
  t.equal(okRes.statusCode, 200)
  const result = okRes.json().result
  t.same(result.structuredContent, { text: 'hihi', caller: 'built-in/app-built-in' })
  t.same(result.content, [{ type: 'text', text: JSON.stringify(result.structuredContent) }])
  t.notOk(result.isError)

  const invalid = await call('echo', { text: 5 })
  t.equal(invalid.statusCode, 200)
  t.same(invalid.json().result, { content: [{ type: 'text', text: 'invalid arguments: /text: Expected string' }], isError: true })
  const missing = await call('echo', {})
  t.match(missing.json().result.content[0].text, /^invalid arguments: \/text: /)
  const extra = await call('echo', { text: 'a', nope: 1 })
  t.match(extra.json().result.content[0].text, /^invalid arguments: \/nope/)
  const noArgs = await call('echo')
  t.equal(noArgs.json().result.isError, true, 'absent arguments are {}')

  for (const [how, message] of [
    ['tool', 'you may not touch organization "acme"'],
    ['not_found', 'user "acme/nobody" not found'],
    ['conflict', 'user "acme/alice" already exists']
  ]) {
    const res = await call('fail', { how })
    t.equal(res.statusCode, 200, how)
    t.same(res.json().result, { content: [{ type: 'text', text: message }], isError: true })
  }

  const unavailable = await call('fail', { how: 'unavailable' })
  t.equal(unavailable.statusCode, 503)
  t.same(unavailable.json(), { jsonrpc: '2.0', id: 10, error: { code: -32603, message: 'Service unavailable' } })
  const crash = await call('fail', { how: 'crash' })
  t.equal(crash.statusCode, 500)
  t.same(crash.json(), { jsonrpc: '2.0', id: 10, error: { code: -32603, message: 'Internal error' } })
  t.notMatch(crash.body, /secret|5432|stack/)
  const badOutput = await call('fail', { how: 'bad_output' })
  t.equal(badOutput.statusCode, 500, 'a result that breaks its output schema is not shown')

  const unknown = await call('no_such_tool', {})
  t.equal(unknown.statusCode, 200)
  t.equal(unknown.json().error.code, -32602)
  for (const [name, args] of [[undefined, {}], [7, {}], ['echo', 'text'], ['echo', [1]], ['echo', null]]) {
    const res = await call(name, args)
    t.equal(res.json().error?.code, -32602, `params ${JSON.stringify({ name, args })}`)
  }

  t.test('insufficient scope → 403 with the step-up challenge, before argument validation', async (t) => {
    const reader = await bearerFor(app, ['demo:read', 'other:read'])
    const res = await call('fail', { how: 42 }, { authorization: reader })
    t.equal(res.statusCode, 403)
    t.same(res.json(), {
      jsonrpc: '2.0',
      id: 10,
      error: { code: -32001, message: 'insufficient_scope', data: { tool: 'fail', required_scopes: ['demo:write'], granted_scopes: ['demo:read', 'other:read'] } }
    })
    t.equal(res.headers['www-authenticate'], `Bearer error="insufficient_scope", scope="demo:read demo:write other:read", resource_metadata="${BASE}/.well-known/oauth-protected-resource"`)
    const allowed = await call('echo', { text: 'x' }, { authorization: reader })
    t.equal(allowed.statusCode, 200)
    const cookie = await sessionCookieFor(app)
    const session = await call('fail', { how: 'tool' }, { authorization: undefined, cookie })
    t.equal(session.json().result.isError, true, 'a session is never refused for scope')
  })

  t.test('tool calls are counted in /metrics', async (t) => {
    const metrics = await app.inject({ method: 'GET', url: '/metrics' })
    t.match(metrics.body, /mcp_tool_calls_total\{tool="echo",outcome="success"\} [1-9]/)
    t.match(metrics.body, /mcp_tool_calls_total\{tool="fail",outcome="denied"\} 1/)
    t.match(metrics.body, /mcp_tool_calls_total\{tool="\(unknown\)",outcome="unknown"\} 1/)
    t.notMatch(metrics.body, /no_such_tool/)
  })
})

test('authentication that throws: database unavailable → 503 -32603, else 500 without internals', async (t) => {
  const app = await buildMcp(t)
  const original = app.authenticate
  t.teardown(() => { app.authenticate = original })
  const { StoreError } = await import('../../lib/storage/errors.js')
  app.authenticate = async () => { throw new StoreError('unavailable', 'revocation data could not be refreshed') }
  const res = await rpc(app, LIST)
  t.equal(res.statusCode, 503)
  t.same(res.json(), { jsonrpc: '2.0', id: 2, error: { code: -32603, message: 'Service unavailable' } })
  app.authenticate = async () => { throw new Error('boom at /internal/path') }
  const crash = await rpc(app, LIST)
  t.equal(crash.statusCode, 500)
  t.notMatch(crash.body, /boom|internal\/path/)
})
