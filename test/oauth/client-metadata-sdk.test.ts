import { test } from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import {
  Client, StreamableHTTPClientTransport, UnauthorizedError,
  type OAuthClientInformationMixed, type OAuthClientMetadata, type OAuthClientProvider, type OAuthDiscoveryState, type OAuthTokens
} from '@modelcontextprotocol/client'
import { createSqliteDatabase, type TestContext } from '../helper.js'
import { startServer } from '../production/process.js'
import { Agent, authorizeThrough } from './flow.js'

/*
 * The SDK v2 client identified by a Client ID Metadata Document, against the real server
 * process. The SDK insists on an https `clientMetadataUrl`, so the document is served over
 * https on loopback with a certificate from a throw-away authority made here (openssl); the
 * server trusts that authority through NODE_EXTRA_CA_CERTS (read only at process start, hence
 * a child process) and may fetch from loopback through CLIENT_ID_METADATA_INSECURE.
 */

/** A CA and a server certificate for 127.0.0.1 and localhost, valid for a day. */
function throwAwayAuthority (t: TestContext): { caFile: string, key: string, cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'iam-cimd-ca-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const at = (name: string) => join(dir, name)
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' })
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=iam-mcp test authority', '-keyout', at('ca.key'), '-out', at('ca.crt'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign')
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost',
    '-keyout', at('server.key'), '-out', at('server.csr'))
  writeFileSync(at('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  openssl('x509', '-req', '-in', at('server.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial',
    '-days', '1', '-extfile', at('server.ext'), '-out', at('server.crt'))
  return { caFile: at('ca.crt'), key: readFileSync(at('server.key'), 'utf8'), cert: readFileSync(at('server.crt'), 'utf8') }
}

const REDIRECT = 'http://127.0.0.1:43125/oauth/callback'

/** An SDK client application that has no registration: it names itself by its document's URL. */
class MetadataDocumentProvider implements OAuthClientProvider {
  information: OAuthClientInformationMixed | undefined
  saved: OAuthTokens | undefined
  verifier = ''
  lastState = ''
  authorizationUrl: URL | undefined
  discovery: OAuthDiscoveryState | undefined
  constructor (readonly clientMetadataUrl: string) {}

  get redirectUrl (): string { return REDIRECT }
  get clientMetadata (): OAuthClientMetadata {
    return { client_name: 'SDK metadata-document agent', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' }
  }

  state (): string {
    this.lastState = randomBytes(16).toString('base64url')
    return this.lastState
  }

  clientInformation (): OAuthClientInformationMixed | undefined { return this.information }
  saveClientInformation (information: OAuthClientInformationMixed): void { this.information = information }
  tokens (): OAuthTokens | undefined { return this.saved }
  saveTokens (tokens: OAuthTokens): void { this.saved = tokens }
  redirectToAuthorization (url: URL): void { this.authorizationUrl = url }
  saveCodeVerifier (verifier: string): void { this.verifier = verifier }
  codeVerifier (): string { return this.verifier }
  saveDiscoveryState (state: OAuthDiscoveryState): void { this.discovery = state }
  discoveryState (): OAuthDiscoveryState | undefined { return this.discovery }
}

test('the SDK v2 client with clientMetadataUrl: bare 401 → login and consent → a called tool, never registering', async (t) => {
  const { caFile, key, cert } = throwAwayAuthority(t)
  let documentRequests = 0
  const documentServer = createServer({ key, cert }, (req, res) => {
    if (req.url !== '/mcp/client-metadata.json') { res.writeHead(404).end(); return }
    documentRequests++
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(JSON.stringify({
      client_id: documentUrl,
      client_name: 'SDK metadata-document agent',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none'
    }))
  })
  await new Promise<void>(resolve => documentServer.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { documentServer.closeAllConnections(); documentServer.close(() => resolve()) }))
  const documentUrl = `https://127.0.0.1:${(documentServer.address() as AddressInfo).port}/mcp/client-metadata.json`

  const server = await startServer(t, {
    DATABASE_URL: createSqliteDatabase(t),
    NODE_EXTRA_CA_CERTS: caFile,
    CLIENT_ID_METADATA_INSECURE: 'true'
  })
  const base = server.base
  const seen: string[] = []
  const recording = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const res = await fetch(input, init)
    const target = new URL(input instanceof Request ? input.url : String(input))
    seen.push(`${init?.method ?? (input instanceof Request ? input.method : 'GET')} ${target.pathname} ${res.status}`)
    return res
  }
  const provider = new MetadataDocumentProvider(documentUrl)
  const transportFor = () => new StreamableHTTPClientTransport(new URL(`${base}/api/mcp`), { authProvider: provider, fetch: recording })

  const first = new Client({ name: 'cimd-sdk-test', version: '1.0.0' })
  await t.rejects(first.connect(transportFor()), UnauthorizedError, 'the SDK must send the person to authorize')
  t.match(seen[0], /^POST \/api\/mcp 401$/, 'a bare 401 first')
  const url = provider.authorizationUrl
  if (url === undefined) throw new Error(`the SDK did not start an authorization: ${seen.join(', ')}`)
  t.equal(url.searchParams.get('client_id'), documentUrl, 'the client id is the document URL')

  const location = await authorizeThrough(new Agent(base), `${url.pathname}${url.search}`)
  t.equal(location.searchParams.get('state'), provider.lastState)
  t.ok(documentRequests >= 1, 'the server fetched the document over https, trusting the test authority')
  await transportFor().finishAuth(location.searchParams)
  t.type(provider.saved?.access_token, 'string', 'tokens for the metadata-document client')

  const client = new Client({ name: 'cimd-sdk-test', version: '1.0.0' })
  await client.connect(transportFor())
  t.teardown(() => client.close())
  const account = await client.callTool({ name: 'get_account', arguments: {} })
  t.notOk(account.isError, JSON.stringify(account.content))
  t.match(account.structuredContent, { kind: 'user', id: 'built-in/admin' })

  t.notOk(seen.some(s => s.includes('/api/oauth/register')), `the registration endpoint was never called (${seen.join(', ')})`)
  t.ok(seen.some(s => /^POST \/api\/login\/oauth\/access_token 200$/.test(s)), 'the code was exchanged')
  t.equal(documentRequests, 1, 'fetched once: authorize, consent and token endpoint used the cached row')
})
