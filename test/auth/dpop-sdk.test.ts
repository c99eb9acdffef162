import { test } from 'tap'
import { Client, ClientCredentialsProvider, DpopSession, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { BOOTSTRAP_CLIENT, listen } from '../helper.js'

/** The stock client-credentials provider, with the SDK's own DPoP hook switched on. */
class DpopClientCredentials extends ClientCredentialsProvider {
  constructor (private readonly session: DpopSession, options: ConstructorParameters<typeof ClientCredentialsProvider>[0] & { expectedIssuer: string }) {
    super(options)
  }

  dpop (): DpopSession {
    return this.session
  }
}

interface Seen { path: string, status: number, headers: Headers }

test('the SDK v2 client with a DPoP provider: bound tokens, a proof on every request, a stolen token refused', async (t) => {
  const { base } = await listen(t, { env: { RATE_LIMIT_MCP_MAX: '10000', RATE_LIMIT_MAX: '10000' } })
  const seen: Seen[] = []
  const recording: typeof fetch = async (input, init) => {
    const res = await fetch(input, init)
    const url = new URL(input instanceof Request ? input.url : String(input))
    seen.push({ path: url.pathname, status: res.status, headers: new Headers(input instanceof Request ? input.headers : init?.headers) })
    return res
  }
  const session = await DpopSession.create({ alg: 'ES256' })
  const provider = new DpopClientCredentials(session, { clientId: BOOTSTRAP_CLIENT.id, clientSecret: BOOTSTRAP_CLIENT.secret, expectedIssuer: base })
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/api/mcp`), { authProvider: provider, fetch: recording })
  const client = new Client({ name: 'iam-mcp-dpop-tests', version: '1.0.0' })
  await client.connect(transport)
  t.teardown(() => client.close())

  const tokens = provider.tokens()
  t.equal(tokens?.token_type, 'DPoP', 'the token endpoint answered with a DPoP-bound token')
  const accessToken = tokens?.access_token ?? ''
  const cnf = JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString()).cnf
  t.same(cnf, { jkt: session.thumbprint }, 'bound to the client\'s key')

  const account = await client.callTool({ name: 'get_account', arguments: {} })
  t.notOk(account.isError, 'a tool answers')
  t.match(account.structuredContent, { kind: 'application', id: 'built-in/app-built-in' })

  const tokenRequest = seen.find(s => s.path === '/api/login/oauth/access_token' && s.status === 200)
  t.ok(tokenRequest?.headers.get('dpop'), 'the token request carried a proof')
  const authorized = seen.filter(s => s.path === '/api/mcp' && s.status === 200)
  t.ok(authorized.length >= 2, 'MCP requests answered')
  const proofs = new Set<string>()
  for (const s of authorized) {
    t.match(s.headers.get('authorization'), /^DPoP /, 'Authorization: DPoP')
    const proof = s.headers.get('dpop')
    t.ok(proof, 'with a proof')
    proofs.add(proof ?? '')
  }
  t.equal(proofs.size, authorized.length, 'a fresh proof each time')

  // Someone who copied the token (a log line, a proxy) but not the key gets nothing.
  const rpc = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })
  const call = async (headers: Record<string, string>): Promise<Response> => await fetch(`${base}/api/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', ...headers }, body: rpc })
  const asBearer = await call({ authorization: `Bearer ${accessToken}` })
  t.equal(asBearer.status, 401, 'the stolen token as Bearer')
  t.match(asBearer.headers.get('www-authenticate'), /^DPoP .*error="invalid_token"/)
  const noProof = await call({ authorization: `DPoP ${accessToken}` })
  t.equal(noProof.status, 401, 'the stolen token with the DPoP scheme and no proof')
  const oldProof = authorized[0].headers.get('dpop') ?? ''
  const replayed = await call({ authorization: `DPoP ${accessToken}`, dpop: oldProof })
  t.equal(replayed.status, 401, 'the stolen token with a proof the client already used')
  t.match(replayed.headers.get('www-authenticate'), /error="invalid_dpop_proof"/)
})
