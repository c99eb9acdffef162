import { test } from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js'
import { listen, BOOTSTRAP_CLIENT } from '../helper.js'

/** The `scope` of a `WWW-Authenticate: Bearer …` challenge. */
function challengeScope (header: string | null): string | undefined {
  return header === null ? undefined : /scope="([^"]*)"/.exec(header)?.[1]
}

test('a stock MCP client goes from a bare 401 to a called tool with only the URL and client credentials', async (t) => {
  const { base } = await listen(t)
  const url = new URL(`${base}/api/mcp`)
  const seen: string[] = []
  // Only records what the SDK does; requests pass through untouched.
  const recording: typeof fetch = async (input, init) => {
    const res = await fetch(input, init)
    const target = new URL(input instanceof Request ? input.url : String(input))
    seen.push(`${init?.method ?? 'GET'} ${target.pathname} ${res.status}`)
    return res
  }
  const authProvider = new ClientCredentialsProvider({ clientId: BOOTSTRAP_CLIENT.id, clientSecret: BOOTSTRAP_CLIENT.secret, expectedIssuer: url.origin })
  const transport = new StreamableHTTPClientTransport(url, { authProvider, fetch: recording })
  const client = new Client({ name: 'iam-mcp-auth-tests', version: '1.0.0' })
  await client.connect(transport)
  t.teardown(() => client.close())

  t.match(seen[0], /^POST \/api\/mcp 401$/, 'the first request is refused with a challenge')
  t.ok(seen.some(s => /^GET \/\.well-known\/oauth-protected-resource(\/api\/mcp)? 200$/.test(s)), 'resource metadata discovered')
  t.ok(seen.some(s => /^GET \/\.well-known\/(oauth-authorization-server|openid-configuration) 200$/.test(s)), 'authorization server metadata discovered')
  t.ok(seen.includes('POST /api/login/oauth/access_token 200'), 'a token obtained with client_credentials')
  const tokens = authProvider.tokens()
  t.ok(tokens?.access_token, 'the SDK holds an access token')
  t.equal(tokens?.token_type, 'Bearer')

  const { tools } = await client.listTools()
  t.ok(tools.length > 0, 'tools are listed')
  t.ok(tools.some(tool => tool.name === 'get_account'))
  const account = await client.callTool({ name: 'get_account', arguments: {} })
  t.notOk(account.isError, JSON.stringify(account.content))
  t.match(account.structuredContent, { kind: 'application', id: 'built-in/app-built-in' })
})

test('step-up: a 403 challenge names the token\'s scopes plus the tool\'s; a token for exactly that scope succeeds', async (t) => {
  const { app, base } = await listen(t)
  await app.store.applications.create({ owner: 'built-in', name: 'step-up-target', scopes: ['user:read'] })
  const basic = 'Basic ' + Buffer.from(`${BOOTSTRAP_CLIENT.id}:${BOOTSTRAP_CLIENT.secret}`).toString('base64')
  async function tokenFor (scope: string): Promise<{ access_token: string, scope: string }> {
    const res = await fetch(`${base}/api/login/oauth/access_token`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource: `${base}/api/mcp` })
    })
    t.equal(res.status, 200)
    return await res.json() as { access_token: string, scope: string }
  }
  const call = (token: string) => fetch(`${base}/api/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'update_application', arguments: { id: 'built-in/step-up-target', displayName: 'Stepped up' } } })
  })

  const readOnly = await tokenFor('application:read')
  t.equal(readOnly.scope, 'application:read')
  const refused = await call(readOnly.access_token)
  t.equal(refused.status, 403)
  const challenge = refused.headers.get('www-authenticate')
  t.match(challenge, /^Bearer error="insufficient_scope"/)
  t.match(challenge, /resource_metadata="[^"]+\/\.well-known\/oauth-protected-resource"/)
  const scope = challengeScope(challenge)
  t.equal(scope, 'application:read application:write', 'granted ∪ required')
  const body = await refused.json() as { id: number, error: { code: number, message: string, data: Record<string, unknown> } }
  t.equal(body.id, 7)
  t.match(body.error, { code: -32001, message: 'insufficient_scope', data: { tool: 'update_application', required_scopes: ['application:write'], granted_scopes: ['application:read'] } })

  const stepped = await tokenFor(scope ?? '')
  t.equal(stepped.scope, scope, 'the token endpoint grants exactly the challenge scope')
  const ok = await call(stepped.access_token)
  t.equal(ok.status, 200)
  const result = await ok.json() as { result: { isError?: boolean, structuredContent: { application: { displayName: string } } } }
  t.notOk(result.result.isError)
  t.equal(result.result.structuredContent.application.displayName, 'Stepped up')
  t.equal((await app.store.applications.get('built-in/step-up-target')).displayName, 'Stepped up')
})

test('the 401 on /api/mcp: seed body, Bearer challenge with every tool scope, invalid_token for bad tokens, query tokens ignored', async (t) => {
  const { app, base } = await listen(t)
  const post = (headers: Record<string, string>, path = '/api/mcp') => fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })
  })
  const bare = await post({})
  t.equal(bare.status, 401)
  t.same(await bare.json(), { jsonrpc: '2.0', id: 1, error: { code: -32001, message: 'Unauthorized', data: 'Unauthorized operation' } })
  const challenge = bare.headers.get('www-authenticate') ?? ''
  t.match(challenge, `Bearer realm="/.well-known/oauth-protected-resource", resource_metadata="${base}/.well-known/oauth-protected-resource"`)
  t.same(challengeScope(challenge)?.split(' '), [...app.tools.scopes].sort(), 'every scope the tools declare')
  t.notMatch(challenge, /error=/, 'no error code without a token')

  const bad = await post({ authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' })
  t.equal(bad.status, 401)
  t.match(bad.headers.get('www-authenticate'), /error="invalid_token"/)

  const token = await app.tokens.issue({ subject: 'built-in/app-built-in', subjectKind: 'application', clientId: BOOTSTRAP_CLIENT.id, scopes: ['application:read'], audience: base, issuer: base })
  const query = await post({}, `/api/mcp?access_token=${encodeURIComponent(token.access_token)}`)
  t.equal(query.status, 401, 'a token in the query string is ignored')
  const wrongSecret = await post({ authorization: 'Basic ' + Buffer.from(`${BOOTSTRAP_CLIENT.id}:wrong`).toString('base64') })
  t.equal(wrongSecret.status, 401)
  t.match(wrongSecret.headers.get('www-authenticate'), /^Bearer realm=/)
})
