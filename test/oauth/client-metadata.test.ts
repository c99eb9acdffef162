import { test, type Test } from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { build, listen, type TestContext } from '../helper.js'
import { callTool } from '../tool-helper.js'
import { Agent, authorizePath, authorizeThrough, pkce, tokenRequest, unescapeHtml } from './flow.js'

/*
 * Client ID Metadata Documents against the real service: documents served on loopback (plain
 * http, with the development switch CLIENT_ID_METADATA_INSECURE on), requests through real
 * HTTP. Runs on SQLite, or PostgreSQL with TEST_DATABASE=postgres.
 */

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** A loopback web server publishing documents; counts the requests each path got. */
async function documentHost (t: TestContext): Promise<{ origin: string, serve: (path: string, handler: Handler) => void, json: (path: string, body: unknown, headers?: Record<string, string>) => void, hits: (path: string) => number }> {
  const handlers = new Map<string, Handler>()
  const counts = new Map<string, number>()
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    counts.set(path, (counts.get(path) ?? 0) + 1)
    const handler = handlers.get(path)
    if (handler === undefined) { res.writeHead(404).end(); return }
    handler(req, res)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    serve: (path, handler) => handlers.set(path, handler),
    json: (path, body, headers = {}) => handlers.set(path, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
    }),
    hits: path => counts.get(path) ?? 0
  }
}

const INSECURE = { CLIENT_ID_METADATA_INSECURE: 'true' }
const REDIRECT = 'http://127.0.0.1:4711/callback'

function authorizeFor (clientId: string, redirectUri = REDIRECT, extra: Record<string, string> = {}) {
  const { verifier, challenge } = pkce()
  return {
    verifier,
    path: authorizePath({ response_type: 'code', client_id: clientId, redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: 'S256', state: 'st', scope: 'user:read', ...extra })
  }
}

/** The error page's text (title and message), for refusals that must be pages, never redirects. */
async function refusalPage (t: Test, agent: Agent, path: string): Promise<string> {
  const res = await agent.get(path)
  t.equal(res.status, 400, 'a page, not a redirect')
  t.equal(res.headers.get('location'), null)
  return unescapeHtml(await res.text())
}

test('discovery says whether metadata documents are accepted', async (t) => {
  const open = await build(t)
  t.equal((await open.inject('/.well-known/oauth-authorization-server')).json().client_id_metadata_document_supported, true)
  const off = await build(t, { env: { CLIENT_ID_METADATA: 'off' } })
  t.equal((await off.inject('/.well-known/oauth-authorization-server')).json().client_id_metadata_document_supported, false)
  t.equal((await off.inject('/.well-known/openid-configuration')).json().client_id_metadata_document_supported, false)
})

test('a metadata-document client: authorize, consent page, token, listed among the applications', async (t) => {
  const docs = await documentHost(t)
  const clientId = `${docs.origin}/agent/client.json`
  docs.json('/agent/client.json', { client_id: clientId, client_name: 'Agent <Desk>', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', application_type: 'native' }, { 'cache-control': 'max-age=600' })
  const { app, base } = await listen(t, { env: INSECURE })
  const agent = new Agent(base)

  // Another port than the document's loopback redirect: allowed (RFC 8252 §7.3).
  const redirect = 'http://127.0.0.1:51000/callback'
  const { verifier, path } = authorizeFor(clientId, redirect)
  let consent = ''
  let raw = ''
  const location = await authorizeThrough(agent, path, { onConsent: page => { raw = page; consent = unescapeHtml(page); return ['user:read'] } })
  t.match(consent, 'Allow <strong>Agent <Desk></strong>', 'the document\'s client_name')
  t.match(consent, `published at <strong>127.0.0.1:${new URL(docs.origin).port}</strong>`, 'the document\'s host')
  t.match(consent, 'This app runs on your computer, and anyone can publish a document naming such an app', 'loopback-only warning')
  t.match(raw, 'Agent &lt;Desk&gt;', 'the name is escaped in the HTML')
  t.notMatch(raw, '<Desk>')
  t.equal(`${location.origin}${location.pathname}`, 'http://127.0.0.1:51000/callback')
  const code = location.searchParams.get('code') as string
  t.ok(code)

  const token = await tokenRequest(base, { grant_type: 'authorization_code', code, redirect_uri: redirect, client_id: clientId, code_verifier: verifier })
  t.equal(token.status, 200, JSON.stringify(token.body))
  t.equal(token.body.scope, 'user:read')
  t.equal(docs.hits('/agent/client.json'), 1, 'fetched once: authorize, consent and token used the cached row')

  const listed = await callTool(app, 'get_applications', { owner: 'built-in' })
  const entry = (listed.structured as { items: Array<Record<string, unknown>> }).items.find(a => a.clientId === clientId)
  t.match(entry, { isMetadataDocument: true, isDynamic: false, owner: 'built-in', displayName: 'Agent <Desk>', applicationType: 'native', tokenEndpointAuthMethod: 'none', redirectUris: [REDIRECT] })
  t.match(entry?.name, /^md-127-0-0-1-\d+-agent-client-json-[0-9a-f]{8}$/, 'named from its URL')

  // It never acts for itself: no client_credentials.
  const cc = await tokenRequest(base, { grant_type: 'client_credentials', client_id: clientId })
  t.not(cc.status, 200)
})

test('refusals at the authorization endpoint are pages that say why', async (t) => {
  const docs = await documentHost(t)
  const id = (path: string) => `${docs.origin}${path}`
  const good = (path: string, extra: Record<string, unknown> = {}) => ({ client_id: id(path), client_name: 'Agent', redirect_uris: [REDIRECT], ...extra })
  docs.json('/mismatch.json', good('/mismatch.json', { client_id: id('/other.json') }))
  docs.json('/secret-method.json', good('/secret-method.json', { token_endpoint_auth_method: 'client_secret_basic' }))
  docs.json('/with-secret.json', good('/with-secret.json', { client_secret: 'shh' }))
  docs.json('/large.json', good('/large.json', { padding: 'x'.repeat(6000) }))
  docs.serve('/redirect.json', (_req, res) => res.writeHead(302, { location: id('/mismatch.json') }).end())
  docs.serve('/silent.json', () => { /* never answers */ })
  docs.serve('/html.json', (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'))
  docs.json('/ok.json', good('/ok.json'))
  const { base } = await listen(t, { env: INSECURE })
  const agent = new Agent(base)
  const page = async (path: string, redirect = REDIRECT) => await refusalPage(t, agent, authorizeFor(id(path), redirect).path)

  t.match(await page('/mismatch.json'), /client_id differs from its URL/)
  t.match(await page('/secret-method.json'), /client_secret_basic.*not allowed/)
  t.match(await page('/with-secret.json'), /must not hold a client_secret/)
  t.match(await page('/large.json'), /larger than 5120 bytes/)
  t.match(await page('/redirect.json'), /answered 302: redirects are not followed/)
  t.match(await page('/silent.json'), /did not arrive within 3000 ms/)
  t.match(await page('/html.json'), /not served as JSON/)
  t.match(await page('/missing.json'), /answered 404/)
  t.match(await page('/ok.json', 'http://127.0.0.1:4711/elsewhere'), /Unregistered return address/, 'a redirect not in the document')
  t.match(await page('/ok.json', 'https://evil.example/callback'), /Unregistered return address/)
  t.match(await page('/ok.json'.replace('.json', '/../ok.json')), /dot segments|canonical/)
  t.equal(docs.hits('/mismatch.json'), 1, 'the redirect was not followed')

  // Without the development switch: http and loopback addresses are refused before any fetch.
  const strict = await listen(t)
  const strictAgent = new Agent(strict.base)
  t.match(await refusalPage(t, strictAgent, authorizeFor(id('/ok.json')).path), /only https URLs are fetched/)
  t.match(await refusalPage(t, strictAgent, authorizeFor('https://127.0.0.1/ok.json').path), /non-public address/)
  t.match(await refusalPage(t, strictAgent, authorizeFor('https://[::1]:8443/ok.json').path), /non-public address/)
  // A name is checked on the address the socket connects to, not by its spelling.
  t.match(await refusalPage(t, strictAgent, authorizeFor(`https://localhost:${new URL(docs.origin).port}/ok.json`).path), /does not resolve to a public address/)
  t.equal(docs.hits('/ok.json'), 1, 'the strict service fetched nothing')
})

test('CLIENT_ID_METADATA=off and allowlist', async (t) => {
  const docs = await documentHost(t)
  const clientId = `${docs.origin}/ok.json`
  docs.json('/ok.json', { client_id: clientId, client_name: 'Agent', redirect_uris: [REDIRECT] })
  const off = await listen(t, { env: { ...INSECURE, CLIENT_ID_METADATA: 'off' } })
  t.match(await refusalPage(t, new Agent(off.base), authorizeFor(clientId).path), /does not accept client ids that are metadata document URLs/)
  const offToken = await tokenRequest(off.base, { grant_type: 'authorization_code', code: 'x', client_id: clientId, code_verifier: 'x'.repeat(43) })
  t.equal(offToken.status, 401)
  t.equal(offToken.body.error, 'invalid_client')

  const other = await listen(t, { env: { ...INSECURE, CLIENT_ID_METADATA: 'allowlist', CLIENT_ID_METADATA_HOSTS: 'example.com,*.example.org' } })
  t.match(await refusalPage(t, new Agent(other.base), authorizeFor(clientId).path), /from 127\.0\.0\.1 are not accepted/)
  const listed = await listen(t, { env: { ...INSECURE, CLIENT_ID_METADATA: 'allowlist', CLIENT_ID_METADATA_HOSTS: '127.0.0.1' } })
  const res = await new Agent(listed.base).get(authorizeFor(clientId).path)
  t.equal(res.status, 200, 'an allowlisted host: the login page')
  t.equal(docs.hits('/ok.json'), 1, 'only the allowlisting service fetched')
})

test('caching, refetch on expiry, disable and delete', async (t) => {
  const docs = await documentHost(t)
  const clientId = `${docs.origin}/c.json`
  let redirects = [REDIRECT]
  docs.serve('/c.json', (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=3600' })
    .end(JSON.stringify({ client_id: clientId, client_name: 'Cached', redirect_uris: redirects })))
  const { app, base } = await listen(t, { env: INSECURE })
  const agent = new Agent(base)
  t.equal((await agent.get(authorizeFor(clientId).path)).status, 200)
  t.equal((await agent.get(authorizeFor(clientId).path)).status, 200)
  t.equal(docs.hits('/c.json'), 1, 'within max-age: fetched once')
  const stored = await app.store.applications.findByClientId(clientId)
  t.ok(stored !== undefined && stored.metadataExpiresAt !== null && stored.metadataExpiresAt > Date.now() + 3500_000 && stored.metadataExpiresAt <= Date.now() + 3600_000, 'expires as max-age says')

  // The document changes; once its lifetime is over, the next use picks the change up.
  redirects = ['https://app.example.com/new']
  t.match(await refusalPage(t, agent, authorizeFor(clientId, 'https://app.example.com/new').path), /Unregistered return address/, 'still the cached document')
  const row = await app.store.applications.findByClientId(clientId)
  await app.store.applications.update(row?.id as string, { metadataExpiresAt: Date.now() - 1 })
  t.equal((await agent.get(authorizeFor(clientId, 'https://app.example.com/new').path)).status, 200, 'refetched: the new redirect URI')
  t.equal(docs.hits('/c.json'), 2)

  // Disabled by an administrator: refused while the document still answers, never refetched.
  t.notOk((await callTool(app, 'update_application', { id: row?.id, isDisabled: true })).isError)
  await app.store.applications.update(row?.id as string, { metadataExpiresAt: Date.now() - 1 })
  t.match(await refusalPage(t, agent, authorizeFor(clientId, 'https://app.example.com/new').path), /Unknown application/)
  const token = await tokenRequest(base, { grant_type: 'authorization_code', code: 'x', client_id: clientId, code_verifier: 'x'.repeat(43) })
  t.equal(token.body.error, 'invalid_client', 'the token endpoint refuses it too')
  t.equal(docs.hits('/c.json'), 2, 'a disabled client is not fetched')
  t.equal((await app.store.applications.findByClientId(clientId))?.isDisabled, true, 'and stays disabled')

  // Deleted: the next use creates it again from its document (README: disable to block for good).
  t.notOk((await callTool(app, 'delete_application', { id: row?.id })).isError)
  t.equal((await agent.get(authorizeFor(clientId, 'https://app.example.com/new').path)).status, 200)
  t.equal(docs.hits('/c.json'), 3)
  t.equal((await app.store.applications.findByClientId(clientId))?.isDisabled, false)
})

test('the token endpoint: a URL client id whose document fails is invalid_client, saying why', async (t) => {
  const docs = await documentHost(t)
  const clientId = `${docs.origin}/bad.json`
  docs.json('/bad.json', { client_id: `${docs.origin}/other.json`, client_name: 'Bad', redirect_uris: [REDIRECT] })
  const { base } = await listen(t, { env: INSECURE })
  const res = await tokenRequest(base, { grant_type: 'authorization_code', code: 'x', client_id: clientId, code_verifier: 'x'.repeat(43) })
  t.equal(res.status, 401)
  t.equal(res.body.error, 'invalid_client')
  t.match(res.body.error_description, /client_id differs from its URL/)
})

test('registration stores and returns application_type', async (t) => {
  const app = await build(t)
  const native = await app.inject({ method: 'POST', url: '/api/oauth/register', payload: { client_name: 'n', redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none', application_type: 'native' } })
  t.equal(native.statusCode, 201)
  t.equal(native.json().application_type, 'native')
  t.equal((await app.store.applications.findByClientId(native.json().client_id))?.applicationType, 'native')
  const web = await app.inject({ method: 'POST', url: '/api/oauth/register', payload: { client_name: 'w', redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'none' } })
  t.equal(web.json().application_type, 'web', 'web when unsaid')
  const bad = await app.inject({ method: 'POST', url: '/api/oauth/register', payload: { redirect_uris: ['https://app.example.com/cb'], application_type: 'desktop' } })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { error: 'invalid_client_metadata', error_description: /application_type/ })

  // A registered loopback redirect accepts any port at the authorization endpoint too.
  const page = await app.inject({ url: authorizeFor(native.json().client_id, 'http://127.0.0.1:6000/cb').path })
  t.equal(page.statusCode, 200, 'the login page')
})

test('settings: bad values stop start-up naming the setting', async (t) => {
  const { readConfig } = await import('../../lib/config.js')
  t.throws(() => readConfig({ CLIENT_ID_METADATA: 'sometimes' }), /CLIENT_ID_METADATA/)
  t.throws(() => readConfig({ CLIENT_ID_METADATA: 'allowlist' }), /CLIENT_ID_METADATA_HOSTS must name at least one host/)
  t.throws(() => readConfig({ CLIENT_ID_METADATA_HOSTS: 'https://example.com' }), /CLIENT_ID_METADATA_HOSTS entry "https:\/\/example.com"/)
  t.throws(() => readConfig({ CLIENT_ID_METADATA_INSECURE: 'maybe' }), /CLIENT_ID_METADATA_INSECURE/)
  t.same(readConfig({ CLIENT_ID_METADATA: 'allowlist', CLIENT_ID_METADATA_HOSTS: 'Example.com, *.example.org' }).clientIdMetadataHosts, ['example.com', '*.example.org'])
})

test('the development switch is warned about at start', async (t) => {
  const logs: string[] = []
  await build(t, { env: { ...INSECURE, LOG_LEVEL: 'warn' }, logs })
  t.ok(logs.some(line => line.includes('CLIENT_ID_METADATA_INSECURE=true')), 'a warning names the setting')
})
