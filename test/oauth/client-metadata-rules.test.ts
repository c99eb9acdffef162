import { test } from 'tap'
import { SLUG_PATTERN } from '../../lib/patterns.js'
import { redirectUriMatches } from '../../lib/oauth/redirect-uri.js'
import {
  ClientMetadataResolver, FAILURE_LIFETIME_MS, MAX_DOCUMENT_LIFETIME_MS, MIN_DOCUMENT_LIFETIME_MS,
  applicationNameFor, checkClientIdUrl, checkDocument, hostAllowed, isMetadataClientId, type ClientMetadataDeps
} from '../../lib/oauth/client-metadata.js'
import { FetchError, type FetchedJson } from '../../lib/net/fetch.js'
import type { Application } from '../../lib/storage/models.js'
import type { ApplicationInput, ApplicationPatch } from '../../lib/storage/repositories/applications.js'
import { StoreError } from '../../lib/storage/errors.js'

const KNOWN = new Set(['user:read', 'user:write'])
const URL_ID = 'https://app.example.com/oauth/client.json'

test('redirect URIs: exact, except any port on a registered http loopback URI (RFC 8252 §7.3)', async (t) => {
  const loopback = ['http://127.0.0.1/callback', 'http://[::1]/cb?x=1', 'http://localhost:3000/cb', 'https://app.example.com/cb']
  t.ok(redirectUriMatches(loopback, 'http://127.0.0.1/callback'), 'exact')
  t.ok(redirectUriMatches(loopback, 'http://127.0.0.1:51234/callback'), '127.0.0.1 on any port')
  t.ok(redirectUriMatches(loopback, 'http://[::1]:8080/cb?x=1'), '[::1] on any port, same query')
  t.ok(redirectUriMatches(loopback, 'http://localhost:9/cb'), 'localhost registered with a port, asked with another')
  t.ok(redirectUriMatches(loopback, 'http://localhost/cb'), 'and with none')
  t.notOk(redirectUriMatches(loopback, 'http://127.0.0.1:5000/other'), 'another path')
  t.notOk(redirectUriMatches(loopback, 'http://127.0.0.1:5000/callback/'), 'a trailing slash is another path')
  t.notOk(redirectUriMatches(loopback, 'http://127.0.0.1:5000/callback?x=1'), 'another query')
  t.notOk(redirectUriMatches(loopback, 'http://[::1]:8080/cb'), 'a query dropped')
  t.notOk(redirectUriMatches(loopback, 'http://127.0.0.2:5000/callback'), 'another loopback address')
  t.notOk(redirectUriMatches(loopback, 'http://localhost:5000/callback'), 'localhost for a registered 127.0.0.1')
  t.notOk(redirectUriMatches(loopback, 'http://localhost.evil.com:3000/cb'), 'a name that only starts like localhost')
  t.notOk(redirectUriMatches(loopback, 'http://127.0.0.1@evil.com/callback'), 'userinfo that looks like the host')
  t.notOk(redirectUriMatches(loopback, 'http://user@127.0.0.1:5000/callback'), 'credentials')
  t.notOk(redirectUriMatches(loopback, 'http://127.0.0.1:5000/callback#x'), 'a fragment')
  t.notOk(redirectUriMatches(loopback, 'http://127.0.0.1:5000/x/../callback'), 'dot segments (not canonical)')
  t.notOk(redirectUriMatches(loopback, 'HTTP://127.0.0.1:5000/callback'), 'another spelling (not canonical)')
  t.notOk(redirectUriMatches(loopback, 'https://127.0.0.1:5000/callback'), 'https for a registered http loopback')
  t.notOk(redirectUriMatches(['https://127.0.0.1/callback'], 'https://127.0.0.1:5000/callback'), 'an https loopback URI matches exactly')
  t.notOk(redirectUriMatches(loopback, 'https://app.example.com:8443/cb'), 'a non-loopback URI matches exactly')
  t.notOk(redirectUriMatches(['http://127.0.0.1:3000/cb'], 'http://127.0.0.1:3000/cb/'), 'exact means exact')
})

test('which client ids are metadata document URLs, and which URLs are allowed', async (t) => {
  t.ok(isMetadataClientId(URL_ID))
  t.ok(isMetadataClientId('http://127.0.0.1/c'))
  t.notOk(isMetadataClientId('abc123'))
  t.equal(checkClientIdUrl(URL_ID, false).hostname, 'app.example.com')
  const refused = (id: string, reason: string, insecure = false) => t.throws(() => checkClientIdUrl(id, insecure), { name: 'ClientMetadataError', reason }, `${id} → ${reason}`)
  refused('https://app.example.com', 'url')
  refused('https://app.example.com/', 'url')
  refused('https://app.example.com/a/../client.json', 'url')
  refused('https://app.example.com/a/%2e%2e/client.json', 'url')
  refused('https://app.example.com/client.json#frag', 'url')
  refused('https://user:pw@app.example.com/client.json', 'url')
  refused('https://APP.example.com/client.json', 'url')
  refused('http://app.example.com/client.json', 'url')
  refused('https://127.0.0.1/client.json', 'address')
  refused('https://[::1]/client.json', 'address')
  t.equal(checkClientIdUrl('http://127.0.0.1:8080/client.json', true).port, '8080', 'http and loopback with the development switch')
})

test('allowlisted hosts: exact names, and *. for subdomains but not the apex', async (t) => {
  const hosts = ['app.example.com', '*.clients.example.org']
  t.ok(hostAllowed('app.example.com', hosts))
  t.ok(hostAllowed('APP.example.com', hosts))
  t.ok(hostAllowed('a.clients.example.org', hosts))
  t.ok(hostAllowed('a.b.clients.example.org', hosts))
  t.notOk(hostAllowed('clients.example.org', hosts), 'the apex is not a subdomain')
  t.notOk(hostAllowed('evilclients.example.org', hosts))
  t.notOk(hostAllowed('other.example.com', hosts))
})

test('a metadata document is checked against its URL and the rules', async (t) => {
  const good = { client_id: URL_ID, client_name: 'Example', redirect_uris: ['http://127.0.0.1/cb', 'https://app.example.com/cb'] }
  const checked = checkDocument(URL_ID, good, KNOWN, false)
  t.same(checked, {
    displayName: 'Example',
    redirectUris: good.redirect_uris,
    tokenEndpointAuthMethod: 'none',
    applicationType: 'web',
    jwks: null,
    jwksUri: null,
    scopes: ['admin']
  }, 'absent token_endpoint_auth_method is none; no scope named: every scope, narrowed at consent')
  t.same(checkDocument(URL_ID, { ...good, scope: 'user:read unknown:x', application_type: 'native' }, KNOWN, false).scopes, ['user:read'])
  const jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] }
  t.match(checkDocument(URL_ID, { ...good, token_endpoint_auth_method: 'private_key_jwt', jwks }, KNOWN, false), { tokenEndpointAuthMethod: 'private_key_jwt', jwks })
  t.match(checkDocument(URL_ID, { ...good, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://app.example.com/jwks' }, KNOWN, false), { jwksUri: 'https://app.example.com/jwks' })

  const refused = (body: unknown, message: RegExp, what: string) =>
    t.throws(() => checkDocument(URL_ID, body, KNOWN, false), { name: 'ClientMetadataError', reason: 'invalid', message }, what)
  refused({ ...good, client_id: 'https://app.example.com/other.json' }, /client_id differs from its URL/, 'client_id differs')
  refused({ ...good, client_id: URL_ID + '/' }, /client_id differs/, 'client_id differs by a slash')
  refused({ client_id: URL_ID, redirect_uris: good.redirect_uris }, /client_name/, 'no client_name')
  refused({ client_id: URL_ID, client_name: 'x' }, /redirect_uris/, 'no redirect_uris')
  refused({ ...good, redirect_uris: [] }, /redirect_uris/, 'empty redirect_uris')
  refused({ ...good, token_endpoint_auth_method: 'client_secret_basic' }, /shared secret/, 'client_secret_basic')
  refused({ ...good, token_endpoint_auth_method: 'client_secret_post' }, /shared secret/, 'client_secret_post')
  refused({ ...good, token_endpoint_auth_method: 'client_secret_jwt' }, /shared secret/, 'client_secret_jwt')
  refused({ ...good, client_secret: 'shh' }, /client_secret/, 'a client_secret')
  refused({ ...good, token_endpoint_auth_method: 'private_key_jwt' }, /jwks/, 'private_key_jwt without keys')
  refused({ ...good, token_endpoint_auth_method: 'private_key_jwt', jwks, jwks_uri: 'https://app.example.com/jwks' }, /not both/, 'both jwks and jwks_uri')
  refused({ ...good, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://10.0.0.1/jwks' }, /jwks_uri/, 'a jwks_uri on a private address')
  refused({ ...good, grant_types: ['client_credentials'] }, /client_credentials/, 'client_credentials')
  refused({ ...good, response_types: ['token'] }, /response_types/, 'implicit')
  refused({ ...good, redirect_uris: ['http://app.example.com/cb'] }, /https/, 'an http redirect off loopback')
  refused({ ...good, redirect_uris: ['https://app.example.com/cb#x'] }, /fragment/, 'a redirect with a fragment')
  refused({ ...good, application_type: 'desktop' }, /application_type/, 'an unknown application_type')
  refused([good], /not a JSON object/, 'an array')
  refused('text', /not a JSON object/, 'a string')
})

test('application names derived from the URL are valid, readable and distinct', async (t) => {
  const a = applicationNameFor(new URL(URL_ID))
  t.match(a, /^md-app-example-com-oauth-client-json-[0-9a-f]{8}$/)
  t.ok(new RegExp(SLUG_PATTERN).test(a))
  const long = applicationNameFor(new URL(`https://${'x'.repeat(60)}.example.com/${'y'.repeat(200)}`))
  t.ok(new RegExp(SLUG_PATTERN).test(long), long)
  t.not(applicationNameFor(new URL('https://app.example.com/a.json')), applicationNameFor(new URL('https://app.example.com/a-json')), 'same slug, other URL: other name')
})

/** An in-memory application store and a scripted fetcher, with a clock the test moves. */
function harness (answers: Array<FetchedJson | FetchError | (() => Promise<FetchedJson>)>) {
  const rows = new Map<string, Application>()
  const clock = { now: 1_000_000 }
  let fetches = 0
  const deps: ClientMetadataDeps = {
    application: async (id) => rows.get(id),
    applications: {
      create: async (input: ApplicationInput) => {
        if (rows.has(input.clientId as string)) throw new StoreError('conflict', 'exists')
        const app = {
          id: `${input.owner}/${input.name}`,
          owner: input.owner,
          name: input.name,
          displayName: input.displayName ?? input.name,
          clientId: input.clientId as string,
          tokenEndpointAuthMethod: input.tokenEndpointAuthMethod as string,
          redirectUris: input.redirectUris ?? [],
          grantTypes: input.grantTypes ?? [],
          scopes: input.scopes ?? [],
          isDisabled: false,
          isDynamic: false,
          isMetadataDocument: input.isMetadataDocument === true,
          applicationType: input.applicationType ?? 'web',
          jwks: input.jwks ?? null,
          jwksUri: input.jwksUri ?? null,
          dpopBoundAccessTokens: false,
          metadataExpiresAt: input.metadataExpiresAt ?? null,
          createdTime: '',
          updatedTime: ''
        } satisfies Application
        rows.set(app.clientId, app)
        return { application: app }
      },
      update: async (id: string, patch: ApplicationPatch) => {
        const current = [...rows.values()].find(a => a.id === id) as Application
        const next = { ...current, ...patch } as Application
        rows.set(next.clientId, next)
        return next
      },
      findByClientId: async (id) => rows.get(id)
    },
    knownScopes: () => KNOWN,
    now: () => clock.now,
    fetch: async () => {
      const answer = answers[Math.min(fetches++, answers.length - 1)]
      if (answer instanceof FetchError) throw answer
      return typeof answer === 'function' ? await answer() : answer
    }
  }
  const resolver = new ClientMetadataResolver({ mode: 'open', hosts: [], allowInsecure: false, organization: 'built-in' }, deps)
  return { resolver, rows, clock, fetches: () => fetches }
}

const doc = (redirect: string) => ({ client_id: URL_ID, client_name: 'Example', redirect_uris: [redirect] })

test('the resolver: cache lifetime bounded to [1 min, 1 day], refetch after it, admin state kept', async (t) => {
  const { resolver, rows, clock, fetches } = harness([
    { body: doc('https://app.example.com/one'), freshForMs: 1000 },
    { body: doc('https://app.example.com/two'), freshForMs: 30 * 86_400_000 },
    { body: doc('https://app.example.com/three'), freshForMs: undefined }
  ])
  const first = await resolver.application(URL_ID) as Application
  t.equal(first.isMetadataDocument, true)
  t.equal(first.owner, 'built-in')
  t.equal(first.metadataExpiresAt, clock.now + MIN_DOCUMENT_LIFETIME_MS, 'max-age=1 is raised to a minute')
  t.same(first.grantTypes, ['authorization_code', 'refresh_token'])
  clock.now += MIN_DOCUMENT_LIFETIME_MS - 1
  t.same((await resolver.application(URL_ID))?.redirectUris, ['https://app.example.com/one'], 'still fresh: not fetched again')
  t.equal(fetches(), 1)

  // An administrator narrows its scopes: a refetch keeps that.
  rows.set(URL_ID, { ...rows.get(URL_ID) as Application, scopes: ['user:read'] })
  clock.now += 1
  const second = await resolver.application(URL_ID) as Application
  t.equal(fetches(), 2, 'expired: fetched again')
  t.same(second.redirectUris, ['https://app.example.com/two'], 'the new redirect URIs are picked up')
  t.same(second.scopes, ['user:read'], 'scopes set by an administrator survive the refetch')
  t.equal(second.metadataExpiresAt, clock.now + MAX_DOCUMENT_LIFETIME_MS, '30 days of max-age is cut to a day')

  // Disabled: never fetched, returned as is (the caller refuses it).
  rows.set(URL_ID, { ...second, isDisabled: true })
  clock.now += MAX_DOCUMENT_LIFETIME_MS + 1
  t.equal((await resolver.application(URL_ID))?.isDisabled, true)
  t.equal(fetches(), 2, 'a disabled client is not fetched')

  rows.set(URL_ID, { ...second, isDisabled: false, metadataExpiresAt: 0 })
  t.equal((await resolver.application(URL_ID))?.metadataExpiresAt, clock.now + MIN_DOCUMENT_LIFETIME_MS, 'no caching header: the minimum')
})

test('the resolver: one fetch for concurrent resolutions, failures remembered for a few seconds', async (t) => {
  let release: () => void = () => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  const { resolver, clock, fetches } = harness([
    async () => { await gate; return { body: doc('https://app.example.com/cb'), freshForMs: undefined } }
  ])
  const all = Promise.all([resolver.application(URL_ID), resolver.application(URL_ID), resolver.application(URL_ID)])
  release()
  const apps = await all
  t.equal(fetches(), 1, 'three resolutions, one fetch')
  t.ok(apps.every(a => a?.clientId === URL_ID))
  t.ok(clock.now > 0)

  const failing = harness([new FetchError('timeout', 'the document did not arrive within 3000 ms'), { body: doc('https://app.example.com/cb'), freshForMs: undefined }])
  await t.rejects(failing.resolver.application(URL_ID), { reason: 'timeout', message: /could not be fetched: the document did not arrive/ })
  await t.rejects(failing.resolver.application(URL_ID), { name: 'ClientMetadataError', reason: 'timeout' }, 'asked again at once: the remembered failure')
  t.equal(failing.fetches(), 1, 'a silent host is not asked again at once')
  failing.clock.now += FAILURE_LIFETIME_MS
  t.equal((await failing.resolver.application(URL_ID))?.clientId, URL_ID, 'after a few seconds it is tried again')
  t.equal(failing.fetches(), 2)
})

test('the resolver: off and allowlist settings, ordinary ids untouched', async (t) => {
  const { rows } = harness([])
  const deps = {
    application: async (id: string) => rows.get(id),
    applications: { create: async () => { throw new Error('no') }, update: async () => { throw new Error('no') }, findByClientId: async () => undefined },
    knownScopes: () => KNOWN,
    fetch: async () => { throw new Error('must not fetch') }
  }
  const off = new ClientMetadataResolver({ mode: 'off', hosts: [], allowInsecure: false, organization: 'built-in' }, deps)
  t.equal(off.enabled, false)
  await t.rejects(off.application(URL_ID), { name: 'ClientMetadataError', reason: 'off' })
  t.equal(await off.application('plain-client-id'), undefined, 'an ordinary unknown id is just unknown')
  const listed = new ClientMetadataResolver({ mode: 'allowlist', hosts: ['*.example.org'], allowInsecure: false, organization: 'built-in' }, deps)
  await t.rejects(listed.application(URL_ID), { reason: 'host', message: /app\.example\.com are not accepted/ })
})
