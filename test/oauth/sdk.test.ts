import { test } from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { auth, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js'
import { randomBytes } from 'node:crypto'
import { listen, type TestContext } from '../helper.js'
import { Agent, authorizeThrough, parseForm, tokenRequest } from './flow.js'

const REDIRECT = 'http://127.0.0.1:43123/oauth/callback'

/**
 * An MCP client application's OAuthClientProvider, kept in memory: what a desktop agent stores
 * on disk. It records where the SDK sends the person, and the state it sent.
 */
class MemoryProvider implements OAuthClientProvider {
  information: OAuthClientInformationMixed | undefined
  saved: OAuthTokens | undefined
  verifier = ''
  lastState = ''
  authorizationUrl: URL | undefined
  /** The scope of the last 403 insufficient_scope challenge (see `tokens()`). */
  challengedScope: string | undefined
  readonly issued: OAuthTokens[] = []

  get redirectUrl (): string { return REDIRECT }
  get clientMetadata (): OAuthClientMetadata {
    return { client_name: 'SDK test agent', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' }
  }

  state (): string {
    this.lastState = randomBytes(16).toString('base64url')
    return this.lastState
  }

  clientInformation (): OAuthClientInformationMixed | undefined { return this.information }
  saveClientInformation (information: OAuthClientInformationMixed): void { this.information = information }

  /**
   * The stored tokens. Works around typescript-sdk#2255 (SDK 1.32): on a 403 step-up the SDK
   * tries a refresh first, which cannot widen scope (RFC 6749 §6), then gives up. Like the
   * SDK's later fix (#2356), the refresh token is held back while the challenged scope is wider
   * than the token's, so that the SDK's own step-up authorization runs.
   */
  tokens (): OAuthTokens | undefined {
    if (this.saved === undefined || this.challengedScope === undefined) return this.saved
    const held = new Set((this.saved.scope ?? '').split(' '))
    const wider = this.challengedScope.split(' ').some(s => s !== '' && !held.has(s))
    if (!wider) return this.saved
    const { refresh_token: _hidden, ...rest } = this.saved
    return rest as OAuthTokens
  }

  saveTokens (tokens: OAuthTokens): void {
    this.saved = tokens
    this.issued.push(tokens)
  }

  redirectToAuthorization (url: URL): void { this.authorizationUrl = url }
  saveCodeVerifier (verifier: string): void { this.verifier = verifier }
  codeVerifier (): string { return this.verifier }

  /** A fetch that notes 403 insufficient_scope challenges for `tokens()`. */
  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const res = await fetch(input, init)
    const challenge = res.headers.get('www-authenticate') ?? ''
    if (res.status === 403 && challenge.includes('insufficient_scope')) this.challengedScope = /scope="([^"]*)"/.exec(challenge)?.[1]
    return res
  }
}

function transportFor (base: string, provider: MemoryProvider): StreamableHTTPClientTransport {
  return new StreamableHTTPClientTransport(new URL(`${base}/api/mcp`), { authProvider: provider, fetch: provider.fetch })
}

async function connect (t: TestContext, base: string, provider: MemoryProvider): Promise<{ client: Client, transport: StreamableHTTPClientTransport }> {
  const transport = transportFor(base, provider)
  const client = new Client({ name: 'sdk-oauth-test', version: '1.0.0' })
  await client.connect(transport)
  t.teardown(() => client.close())
  return { client, transport }
}

/** The person at the browser: signs in (once), consents to `keep`, and returns the code. */
async function person (t: Test, agent: Agent, provider: MemoryProvider, base: string, keep?: (offered: string[]) => string[]): Promise<string> {
  const url = provider.authorizationUrl
  if (url === undefined) throw new Error('the SDK did not send the person anywhere')
  provider.authorizationUrl = undefined
  t.equal(`${url.origin}${url.pathname}`, `${base}/login/oauth/authorize`, 'sent to our authorization endpoint')
  t.equal(url.searchParams.get('code_challenge_method'), 'S256')
  let offered: string[] = []
  const location = await authorizeThrough(agent, `${url.pathname}${url.search}`, {
    keep: keep === undefined ? undefined : [],
    onConsent: (page: string) => {
      offered = parseForm(page).scopes
      return keep === undefined ? offered : keep(offered)
    }
  })
  t.equal(location.searchParams.get('state'), provider.lastState, 'state round-trips')
  t.equal(location.searchParams.get('iss'), base, 'iss in the authorization response (RFC 9207)')
  const code = location.searchParams.get('code')
  if (code === null) throw new Error(`no code: ${location.search}`)
  return code
}

type Test = TestContext & { equal: (a: unknown, b: unknown, m?: string) => void }

test('the official MCP SDK client: registration, authorization, step-up, refresh rotation', async (t) => {
  const { base } = await listen(t)
  const provider = new MemoryProvider()
  const agent = new Agent(base)

  // 1. Unauthenticated: the SDK discovers us, registers itself and sends the person to authorize.
  const first = new Client({ name: 'sdk-oauth-test', version: '1.0.0' })
  await t.rejects(first.connect(transportFor(base, provider)), { message: /Unauthorized/ })
  t.ok(provider.information?.client_id, 'registered itself (DCR)')
  t.equal((provider.information as { token_endpoint_auth_method?: string }).token_endpoint_auth_method, 'none')
  t.equal(provider.authorizationUrl?.searchParams.get('resource'), base, "the resource of the 401's metadata document")

  // 2. The person consents to fewer scopes than asked: reading their account and users only.
  const code = await person(t as unknown as Test, agent, provider, base, offered => {
    t.ok(offered.includes('organization:read') && offered.includes('user:write'), 'every tool scope was asked')
    return ['account:read', 'user:read']
  })
  const transport = transportFor(base, provider)
  await transport.finishAuth(code)
  t.equal(provider.saved?.scope, 'account:read user:read')
  t.type(provider.saved?.refresh_token, 'string', 'a refresh token with the code')

  const { client } = await connect(t, base, provider)
  const listed = (await client.listTools()).tools.map(tool => tool.name).sort()
  t.same(listed, ['get_account', 'get_user', 'get_users'], 'tools/list shows what the consent allows')
  const account = await client.callTool({ name: 'get_account', arguments: {} })
  t.notOk(account.isError)
  t.match(account.structuredContent, { kind: 'user', id: 'built-in/admin' })

  // 3. A tool outside the consent: 403 insufficient_scope, and the SDK's own step-up.
  await t.rejects(client.callTool({ name: 'get_organizations', arguments: {} }), { message: /Unauthorized/ }, 'the SDK starts a new authorization')
  t.equal(provider.challengedScope, 'account:read organization:read user:read', 'the challenge is the granted scopes plus the missing one')
  t.equal(provider.authorizationUrl?.searchParams.get('scope'), provider.challengedScope, "the SDK asks for the challenge's scope")
  const before = provider.saved
  const stepUpCode = await person(t as unknown as Test, agent, provider, base)
  await transport.finishAuth(stepUpCode)
  t.equal(provider.saved?.scope, 'account:read organization:read user:read')
  const orgs = await client.callTool({ name: 'get_organizations', arguments: {} })
  t.notOk(orgs.isError, 'the stepped-up token reaches the tool')
  t.match(orgs.structuredContent, { items: [{ name: 'built-in' }] })

  // 4. Refresh rotation: the refresh token works once; a replay revokes the whole family.
  const old = provider.saved as OAuthTokens
  t.not(old.refresh_token, before?.refresh_token)
  t.equal(await auth(provider, { serverUrl: new URL(`${base}/api/mcp`), fetchFn: provider.fetch }), 'AUTHORIZED', "the SDK's refresh")
  const rotated = provider.saved as OAuthTokens
  t.not(rotated.refresh_token, old.refresh_token, 'a new refresh token')
  t.not(rotated.access_token, old.access_token)
  t.notOk((await client.callTool({ name: 'get_account', arguments: {} })).isError, 'the refreshed access token works')

  const clientId = provider.information?.client_id as string
  const replay = await tokenRequest(base, { grant_type: 'refresh_token', refresh_token: old.refresh_token as string, client_id: clientId })
  t.equal(replay.status, 400)
  t.equal(replay.body.error, 'invalid_grant', 'the used refresh token is refused')
  const newer = await tokenRequest(base, { grant_type: 'refresh_token', refresh_token: rotated.refresh_token as string, client_id: clientId })
  t.equal(newer.body.error, 'invalid_grant', 'and the newer one fails too: the family is revoked')
  const mcp = await fetch(`${base}/api/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${rotated.access_token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })
  })
  t.equal(mcp.status, 401, "the family's access token is revoked as well")
})
