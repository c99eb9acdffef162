import { test } from 'tap'
import { Client, ClientCredentialsProvider, StreamableHTTPClientTransport, type VersionNegotiationMode } from '@modelcontextprotocol/client'
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ClientCredentialsProvider as ProviderV1 } from '@modelcontextprotocol/sdk/client/auth-extensions.js'
import { BOOTSTRAP_CLIENT, listen, type TestContext } from '../helper.js'
import { BOOTSTRAP_BASIC } from './fixtures/util.js'

/*
 * The clients people actually run, unchanged, against a listening server: the SDK v2 client in
 * each of its negotiation modes and the v1 client, each starting from a bare 401 with nothing
 * but the URL and client credentials. What each request looked like on the wire is recorded,
 * so that "ended on 2026-07-28 without a legacy fallback" is checked, not assumed.
 */

const MODERN = '2026-07-28'
const LEGACY_LATEST = '2025-11-25'
const RESTRICTED_SCOPES = ['account:read', 'user:read']
const RESTRICTED = { id: 'restricted-machine', secret: 'restricted-machine-secret-0123456789' }

/** One HTTP exchange as the client made it. */
interface Seen {
  method: string
  path: string
  status: number
  /** The JSON-RPC method(s) of a POST body, when it had any. */
  rpc: string[]
  headers: Headers
}

/** A fetch that passes everything through untouched and records it. */
function recorder (): { fetch: typeof fetch, seen: Seen[], mcp: () => Seen[] } {
  const seen: Seen[] = []
  const recording: typeof fetch = async (input, init) => {
    const res = await fetch(input, init)
    const target = new URL(input instanceof Request ? input.url : String(input))
    let rpc: string[] = []
    if (typeof init?.body === 'string') {
      try {
        const body = JSON.parse(init.body) as unknown
        rpc = (Array.isArray(body) ? body : [body]).map(m => (m as { method?: string }).method).filter((m): m is string => typeof m === 'string')
      } catch {}
    }
    seen.push({ method: init?.method ?? 'GET', path: target.pathname, status: res.status, rpc, headers: new Headers(init?.headers) })
    return res
  }
  return { fetch: recording, seen, mcp: () => seen.filter(s => s.path === '/api/mcp') }
}

/** The names of the tools a caller holding `scopes` may see, as the registry says (`null` = all). */
function namesFor (app: Awaited<ReturnType<typeof listen>>['app'], scopes: string[] | null): string[] {
  return app.tools.visibleTo(scopes === null ? null : new Set(scopes)).map(tool => tool.definition.name).sort()
}

interface Connected {
  client: Client
  provider: ClientCredentialsProvider
  seen: Seen[]
  mcp: () => Seen[]
}

/** The SDK v2 client with client credentials, in negotiation `mode` (undefined = its default). */
async function connectV2 (t: TestContext, base: string, credentials: { id: string, secret: string }, mode: VersionNegotiationMode | undefined): Promise<Connected> {
  const { fetch: recording, seen, mcp } = recorder()
  const provider = new ClientCredentialsProvider({ clientId: credentials.id, clientSecret: credentials.secret, expectedIssuer: base })
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/api/mcp`), { authProvider: provider, fetch: recording })
  const client = new Client({ name: 'iam-mcp-sdk-v2-tests', version: '1.0.0' }, mode === undefined ? undefined : { versionNegotiation: { mode } })
  await client.connect(transport)
  t.teardown(() => client.close())
  return { client, provider, seen, mcp }
}

const MODES: Array<{ label: string, mode: VersionNegotiationMode | undefined, version: string, era: 'modern' | 'legacy' }> = [
  { label: 'legacy default', mode: undefined, version: LEGACY_LATEST, era: 'legacy' },
  { label: 'auto', mode: 'auto', version: MODERN, era: 'modern' },
  { label: `pinned to ${MODERN}`, mode: { pin: MODERN }, version: MODERN, era: 'modern' }
]

test('the SDK v2 client connects in every negotiation mode, with client credentials from a bare 401', async (t) => {
  const { app, base } = await listen(t, { env: { RATE_LIMIT_MCP_MAX: '10000', RATE_LIMIT_MAX: '10000' } })
  await app.store.applications.create({ owner: 'built-in', name: 'restricted-machine', clientId: RESTRICTED.id, clientSecret: RESTRICTED.secret, grantTypes: ['client_credentials'], scopes: RESTRICTED_SCOPES })
  const everything = namesFor(app, null)
  const restrictedTools = namesFor(app, RESTRICTED_SCOPES)
  t.ok(restrictedTools.includes('get_account') && restrictedTools.length < everything.length, 'the restricted application sees some tools, not all')

  for (const { label, mode, version, era } of MODES) {
    t.test(`${label}: bootstrap application`, async (t) => {
      const { client, provider, seen, mcp } = await connectV2(t, base, BOOTSTRAP_CLIENT, mode)
      t.equal(client.getNegotiatedProtocolVersion(), version, `ended on ${version}`)
      t.equal(client.getProtocolEra(), era)
      t.match(client.getServerVersion(), { name: 'iam-mcp' }, 'the server names itself')
      t.type(client.getInstructions(), 'string')
      t.match(mcp()[0], { method: 'POST', status: 401 }, 'the first request meets the challenge')
      t.ok(seen.some(s => s.path === '/api/login/oauth/access_token' && s.status === 200), 'a token from client_credentials')
      t.same(provider.tokens()?.scope?.split(' '), [...app.tools.scopes].sort(), 'granted every scope it asked for')

      const { tools } = await client.listTools()
      t.same(tools.map(tool => tool.name).sort(), everything)
      const account = await client.callTool({ name: 'get_account', arguments: {} })
      t.notOk(account.isError, 'get_account answers')
      t.match(account.structuredContent, { kind: 'application', id: 'built-in/app-built-in' })
      const users = await client.callTool({ name: 'get_users', arguments: {} })
      t.notOk(users.isError, 'get_users answers')

      const methods = mcp().flatMap(s => s.rpc)
      if (era === 'modern') {
        t.notOk(methods.includes('initialize'), 'no legacy handshake: no fallback')
        t.ok(methods.includes('server/discover'), 'discovered with server/discover')
        const answered = mcp().filter(s => s.status === 200)
        t.ok(answered.length >= 3, 'discover, list and calls answered')
        for (const s of answered) {
          t.equal(s.headers.get('mcp-protocol-version'), MODERN, `${s.rpc.join()} carries MCP-Protocol-Version`)
          t.equal(s.headers.get('mcp-method'), s.rpc[0], `${s.rpc.join()} carries Mcp-Method`)
        }
      } else {
        t.ok(methods.includes('initialize'), 'the legacy handshake')
        t.notOk(methods.includes('server/discover'), 'no probe in the legacy default')
      }
    })

    t.test(`${label}: an application allowed only ${RESTRICTED_SCOPES.join(' ')}`, async (t) => {
      const { client, provider, seen } = await connectV2(t, base, RESTRICTED, mode)
      t.equal(client.getNegotiatedProtocolVersion(), version, `ended on ${version}`)
      const asked = seen.find(s => s.path === '/api/login/oauth/access_token')
      t.equal(asked?.status, 200, 'the token endpoint narrows the challenge\'s scope instead of refusing it')
      t.equal(provider.tokens()?.scope, RESTRICTED_SCOPES.join(' '), 'the response says what was granted')
      const { tools } = await client.listTools()
      t.same(tools.map(tool => tool.name).sort(), restrictedTools, 'exactly its tools')
      const account = await client.callTool({ name: 'get_account', arguments: {} })
      t.notOk(account.isError, 'get_account answers')
      t.match(account.structuredContent, { kind: 'application', id: 'built-in/restricted-machine' })
    })
  }

  t.test(`pinned to ${MODERN} with HTTP Basic credentials: discover, list, call, refusals`, async (t) => {
    const { fetch: recording, mcp } = recorder()
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/api/mcp`), { requestInit: { headers: { Authorization: BOOTSTRAP_BASIC } }, fetch: recording })
    const client = new Client({ name: 'iam-mcp-sdk-v2-tests', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } })
    await client.connect(transport)
    t.teardown(() => client.close())
    t.equal(client.getNegotiatedProtocolVersion(), MODERN)
    const discovered = client.getDiscoverResult()
    t.ok(discovered?.supportedVersions.includes(MODERN), 'discover offers the modern revision')
    t.match(discovered?.capabilities, { tools: {} })
    t.same(mcp().map(s => s.status), [200], 'one round trip to connect: server/discover')
    const echoed = await client.callTool({ name: 'get_account', arguments: {} })
    t.match(echoed.structuredContent, { kind: 'application', id: 'built-in/app-built-in' })
    t.equal(mcp().at(-1)?.headers.get('mcp-name'), 'get_account', 'Mcp-Name mirrors the tool name')
    await t.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), { code: -32602 }, 'an unknown tool is a protocol error')
  })
})

test('the v1 SDK client still ends on the newest legacy version, bootstrap and restricted', async (t) => {
  const { app, base } = await listen(t, { env: { RATE_LIMIT_MCP_MAX: '10000', RATE_LIMIT_MAX: '10000' } })
  await app.store.applications.create({ owner: 'built-in', name: 'restricted-machine', clientId: RESTRICTED.id, clientSecret: RESTRICTED.secret, grantTypes: ['client_credentials'], scopes: RESTRICTED_SCOPES })
  for (const [who, credentials, scopes] of [['bootstrap', BOOTSTRAP_CLIENT, null], ['restricted', RESTRICTED, RESTRICTED_SCOPES]] as const) {
    t.test(who, async (t) => {
      const provider = new ProviderV1({ clientId: credentials.id, clientSecret: credentials.secret, expectedIssuer: base })
      const transport = new TransportV1(new URL(`${base}/api/mcp`), { authProvider: provider })
      const client = new ClientV1({ name: 'iam-mcp-sdk-v1-tests', version: '1.0.0' })
      await client.connect(transport)
      t.teardown(() => client.close())
      t.equal(transport.protocolVersion, LEGACY_LATEST)
      t.equal(provider.tokens()?.scope, (scopes ?? [...app.tools.scopes].sort()).join(' '))
      const { tools } = await client.listTools()
      t.same(tools.map(tool => tool.name).sort(), namesFor(app, scopes === null ? null : [...scopes]))
      const account = await client.callTool({ name: 'get_account', arguments: {} })
      t.notOk(account.isError, 'get_account answers')
    })
  }
})
