import { request as httpRequest } from 'node:http'
import { test } from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ListResourcesResultSchema } from '@modelcontextprotocol/sdk/types.js'
import { listen, type TestContext } from '../helper.js'
import { BOOTSTRAP_BASIC, FIXTURE_TOOLS, applicationWith, bearerFor, tempToolsDir, writeBulkTools } from './fixtures/util.js'

/** The official SDK client over Streamable HTTP, with fixed headers (credentials) and an optional fetch. */
async function connect (t: TestContext, base: string, headers: Record<string, string>, fetchFn?: typeof fetch): Promise<{ client: Client, transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/api/mcp`), { requestInit: { headers }, fetch: fetchFn })
  const client = new Client({ name: 'iam-mcp-tests', version: '1.0.0' })
  await client.connect(transport)
  t.teardown(() => client.close())
  return { client, transport }
}

/** A JSON-RPC answer as tests read it. */
interface Reply { id?: unknown, result?: { protocolVersion?: string }, error?: { code: number } }
const json = async (res: Response): Promise<Reply> => await res.json() as Reply

const post = (base: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> => fetch(`${base}/api/mcp`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: BOOTSTRAP_BASIC, ...headers },
  body: JSON.stringify(body)
})

test('the official SDK client over a listening server', async (t) => {
  const { app, base } = await listen(t, { toolsDir: FIXTURE_TOOLS })

  t.test('initialize, list, call with HTTP Basic client credentials', async (t) => {
    const { client, transport } = await connect(t, base, { Authorization: BOOTSTRAP_BASIC })
    t.match(client.getServerVersion(), { name: 'iam-mcp', version: '0.1.0' })
    t.match(client.getServerCapabilities(), { tools: {} })
    t.type(client.getInstructions(), 'string')
    t.equal(transport.protocolVersion, '2025-11-25', 'the SDK asks for the latest and gets it')
    t.equal(transport.sessionId, undefined, 'stateless')

    const { tools, nextCursor } = await client.listTools()
    t.same(tools.map(tool => tool.name), ['echo', 'fail', 'set_password', 'two_scopes'])
    t.equal(nextCursor, undefined)

    const echoed = await client.callTool({ name: 'echo', arguments: { text: 'hello' } })
    t.same(echoed.structuredContent, { text: 'hello', caller: 'built-in/app-built-in' })
    t.same(echoed.content, [{ type: 'text', text: JSON.stringify(echoed.structuredContent) }])

    const invalid = await client.callTool({ name: 'echo', arguments: { text: 1 } })
    t.equal(invalid.isError, true)
    t.same(invalid.content, [{ type: 'text', text: 'invalid arguments: /text: Expected string' }])

    const own = await client.callTool({ name: 'fail', arguments: { how: 'not_found' } })
    t.equal(own.isError, true)

    await t.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), { name: 'McpError', code: -32602 })
    await t.rejects(client.request({ method: 'resources/list' } as never, ListResourcesResultSchema), { name: 'McpError', code: -32601 })
    t.same(await client.ping(), {})

    await t.rejects(client.callTool({ name: 'fail', arguments: { how: 'crash' } }), { message: /^Streamable HTTP error/, code: 500 })
    await t.rejects(client.callTool({ name: 'fail', arguments: { how: 'unavailable' } }), { message: /^Streamable HTTP error/, code: 503 })
  })

  t.test('a Bearer token: scope filtering and the 403 step-up challenge', async (t) => {
    const token = await bearerFor(app, ['demo:read'], `${base}/api/mcp`, base)
    const { client } = await connect(t, base, { Authorization: token })
    t.same((await client.listTools()).tools.map(tool => tool.name), ['echo'])
    t.same((await client.callTool({ name: 'echo', arguments: { text: 'x' } })).structuredContent, { text: 'x', caller: 'built-in/admin' })
    await t.rejects(client.callTool({ name: 'fail', arguments: { how: 'tool' } }), { message: /^Streamable HTTP error/, code: 403 })
  })

  t.test('no or bad credentials: the SDK sees 401', async (t) => {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/api/mcp`))
    const client = new Client({ name: 'anonymous', version: '1.0.0' })
    await t.rejects(client.connect(transport), { message: /^Streamable HTTP error/, code: 401 })
    const res = await post(base, { jsonrpc: '2.0', id: 1, method: 'ping' }, { authorization: 'Bearer not-a-jwt' })
    t.equal(res.status, 401)
    t.match(res.headers.get('www-authenticate'), `resource_metadata="${base}/.well-known/oauth-protected-resource"`)
    t.match(res.headers.get('www-authenticate'), 'error="invalid_token"')
  })

  t.test('version negotiation: each supported version is echoed and then sent as the header', async (t) => {
    for (const version of ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05']) {
      const sent: Array<string | null> = []
      // Ask for `version` instead of the SDK's latest; record the header of every later request.
      const fetchAsking: typeof fetch = async (url, init) => {
        let body = init?.body
        if (typeof body === 'string' && body.includes('"initialize"')) body = body.replace(/"protocolVersion":"[^"]+"/, `"protocolVersion":"${version}"`)
        else sent.push(new Headers(init?.headers).get('mcp-protocol-version'))
        return await fetch(url, { ...init, body })
      }
      const { client, transport } = await connect(t, base, { Authorization: BOOTSTRAP_BASIC }, fetchAsking)
      t.equal(transport.protocolVersion, version, `negotiated ${version}`)
      t.equal((await client.listTools()).tools.length, 4)
      t.ok(sent.length > 0 && sent.every(h => h === version), `later requests carry MCP-Protocol-Version: ${version}`)
    }
    const unknown = await post(base, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2030-01-01', capabilities: {}, clientInfo: { name: 'x', version: '1' } } })
    t.equal((await json(unknown)).result?.protocolVersion, '2025-11-25', 'an unknown version is answered with the latest')
    const badHeader = await post(base, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-protocol-version': '2030-01-01' })
    t.equal(badHeader.status, 400)
    t.equal((await json(badHeader)).error?.code, -32022, 'UnsupportedProtocolVersionError, which lists what we serve')
  })

  t.test('over HTTP: GET 405, notifications 202, batches per version, 415, -32700, -32600', async (t) => {
    const get = await fetch(`${base}/api/mcp`, { headers: { accept: 'text/event-stream', authorization: BOOTSTRAP_BASIC } })
    t.equal(get.status, 405)
    t.equal(get.headers.get('allow'), 'POST')
    const note = await post(base, { jsonrpc: '2.0', method: 'notifications/initialized' })
    t.equal(note.status, 202)
    t.equal(await note.text(), '')
    const batch = [{ jsonrpc: '2.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', id: 2, method: 'tools/list' }]
    const old = await post(base, batch, { 'mcp-protocol-version': '2025-03-26' })
    t.equal(old.status, 200)
    t.same((await old.json() as Reply[]).map(m => m.id), [1, 2])
    const newer = await post(base, batch, { 'mcp-protocol-version': '2025-06-18' })
    t.equal(newer.status, 400)
    t.equal((await json(newer)).error?.code, -32600)
    const text = await fetch(`${base}/api/mcp`, { method: 'POST', headers: { 'content-type': 'text/plain', authorization: BOOTSTRAP_BASIC }, body: '{}' })
    t.equal(text.status, 415)
    const broken = await fetch(`${base}/api/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: BOOTSTRAP_BASIC }, body: '{"jsonrpc":' })
    t.equal(broken.status, 400)
    t.same(await broken.json(), { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } })
    const notRpc = await post(base, { hello: 'world' })
    t.equal(notRpc.status, 400)
    t.equal((await json(notRpc)).error?.code, -32600)
    const starAccept = await post(base, { jsonrpc: '2.0', id: 3, method: 'ping' }, { accept: '*/*' })
    t.equal(starAccept.status, 200)
    t.match(starAccept.headers.get('content-type'), /^application\/json/)
  })

  t.test('Origin and Host refusal on the wire', async (t) => {
    const foreign = await post(base, { jsonrpc: '2.0', id: 1, method: 'ping' }, { origin: 'https://evil.example' })
    t.equal(foreign.status, 403)
    t.same(await foreign.json(), { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Forbidden: Origin not allowed' } })
    const own = await post(base, { jsonrpc: '2.0', id: 1, method: 'ping' }, { origin: base })
    t.equal(own.status, 200)

    const { port } = new URL(base)
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/api/mcp', method: 'POST', headers: { host: 'rebound.example', 'content-type': 'application/json', authorization: BOOTSTRAP_BASIC } }, res => { res.resume(); resolve(res.statusCode ?? 0) })
      req.on('error', reject)
      req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }))
    })
    t.equal(status, 403, 'a DNS-rebound Host is refused')
  })
})

test('pagination through the SDK: 100 tools a page', async (t) => {
  const dir = tempToolsDir(t)
  writeBulkTools(dir, 130)
  const { app, base } = await listen(t, { toolsDir: dir })
  const { client } = await connect(t, base, { Authorization: BOOTSTRAP_BASIC })
  const first = await client.listTools()
  t.equal(first.tools.length, 100)
  t.equal(first.tools[0].name, 'tool_000')
  t.type(first.nextCursor, 'string')
  const second = await client.listTools({ cursor: first.nextCursor })
  t.equal(second.tools.length, 30)
  t.equal(second.tools[29].name, 'tool_129')
  t.equal(second.nextCursor, undefined)
  await t.rejects(client.listTools({ cursor: 'bm90LWEtY3Vyc29y' }), { name: 'McpError', code: -32602 })

  const reader = await applicationWith(app, ['other:read'])
  const res = await post(base, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { cursor: first.nextCursor } }, { authorization: reader.authorization })
  t.equal((await json(res)).error?.code, -32602, 'a cursor past the caller\'s own list is refused')
  t.same((await client.callTool({ name: 'tool_129', arguments: {} })).structuredContent, { n: 129 })
})
