import { test } from 'tap'
import { createClientKeys, checkPublicKeySet } from '../../lib/oauth/client-assertion.js'
import type { Application } from '../../lib/storage/models.js'
import { keyPair, keyServer } from './pkjwt.js'

const client = (over: Partial<Application>): Application => ({ id: 'acme/m', owner: 'acme', name: 'm', displayName: 'm', clientId: 'm', tokenEndpointAuthMethod: 'private_key_jwt', redirectUris: [], grantTypes: ['client_credentials'], scopes: [], isDisabled: false, isDynamic: false, isMetadataDocument: false, applicationType: 'web', jwks: null, jwksUri: null, dpopBoundAccessTokens: false, metadataExpiresAt: null, createdTime: '', updatedTime: '', ...over })
const kids = (set: { keys: Array<{ kid?: string }> }) => set.keys.map(k => k.kid)

/*
 * A client's published keys, fetched from a real loopback server on a clock the test moves: a
 * rotation is picked up on an unknown kid, but an unknown kid cannot make us fetch more often
 * than the bound, however many assertions name one.
 */
test('published key sets: cached, refetched on rotation at a bounded rate', async (t) => {
  const first = await keyPair('k1')
  const second = await keyPair('k2')
  const server = await keyServer(t, { keys: [first.publicJwk] })
  let now = 1_000_000
  const keys = createClientKeys({ fetchPolicy: { allowInsecure: true, timeoutMs: 3000, maxBytes: 5120 }, refetchIntervalMs: 30_000, minTtlMs: 60_000, maxTtlMs: 3_600_000, now: () => now })
  const m = client({ jwksUri: server.url })

  t.same(kids(await keys.keys(m, { refresh: false })), ['k1'])
  t.same(kids(await keys.keys(m, { refresh: false })), ['k1'])
  t.equal(server.hits(), 1, 'cached')

  server.serve({ body: { keys: [first.publicJwk, second.publicJwk] } })
  now += 10_000
  t.same(kids(await keys.keys(m, { refresh: true })), ['k1'], 'an unknown kid right after a fetch does not fetch again')
  for (let i = 0; i < 20; i++) await keys.keys(m, { refresh: true })
  t.equal(server.hits(), 1, 'twenty unknown kids within the bound: still one fetch')

  now += 20_000
  t.same(kids(await keys.keys(m, { refresh: true })), ['k1', 'k2'], 'after the bound, the rotated set is fetched')
  t.equal(server.hits(), 2)
  for (let i = 0; i < 20; i++) await keys.keys(m, { refresh: true })
  t.equal(server.hits(), 2, 'and then not again within the bound')

  now += 61_000
  await keys.keys(m, { refresh: false })
  t.equal(server.hits(), 3, 'expired after its lifetime (no caching headers: the minimum)')

  server.serve({ body: { keys: [second.publicJwk] }, headers: { 'cache-control': 'max-age=600' } })
  now += 61_000
  await keys.keys(m, { refresh: false })
  now += 300_000
  t.same(kids(await keys.keys(m, { refresh: false })), ['k2'], 'max-age=600 keeps it for ten minutes')
  t.equal(server.hits(), 4)

  const inline = client({ jwks: { keys: [first.publicJwk as Record<string, unknown>] } })
  t.same(kids(await keys.keys(inline, { refresh: true })), ['k1'], 'an inline set is used as stored, never fetched')
  t.equal(keys.fetches(), 4)
})

test('what counts as a usable public key set', async (t) => {
  const ec = await keyPair('ec')
  const rsa = await keyPair('rsa', 'RS256')
  const ed = await keyPair('ed', 'EdDSA')
  t.equal(await checkPublicKeySet({ keys: [ec.publicJwk, rsa.publicJwk, ed.publicJwk] }), undefined)
  const bad: Array<[unknown, RegExp]> = [
    [{ keys: [] }, /non-empty/],
    [[ec.publicJwk], /object with "keys"/],
    [{ keys: [{ ...ec.publicJwk, d: 'x' }] }, /private key material \("d"\)/],
    [{ keys: [{ ...rsa.publicJwk, p: 'x' }] }, /private key material \("p"\)/],
    [{ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }, /symmetric/],
    [{ keys: [{ ...ec.publicJwk, alg: 'HS256' }] }, /alg "HS256"/],
    [{ keys: [{ ...ec.publicJwk, use: 'enc' }] }, /use "enc"/],
    [{ keys: [{ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' }] }, /cannot be imported/],
    [{ keys: Array.from({ length: 11 }, () => ec.publicJwk) }, /at most 10 keys/]
  ]
  for (const [set, message] of bad) t.match(await checkPublicKeySet(set), message)
})

test('a key set that cannot be had is not fetched again within the interval', async (t) => {
  const key = await keyPair('k1')
  const server = await keyServer(t, null)
  server.serve({ status: 500, raw: 'down' })
  let now = 5_000_000
  const keys = createClientKeys({ fetchPolicy: { allowInsecure: true, timeoutMs: 3000, maxBytes: 5120 }, refetchIntervalMs: 30_000, now: () => now })
  const m = client({ jwksUri: server.url })
  for (let i = 0; i < 10; i++) await t.rejects(keys.keys(m, { refresh: true }), { code: 'invalid_client', message: /answered 500/ })
  t.equal(server.hits(), 1, 'ten refusals, one fetch')
  server.serve({ body: { keys: [key.publicJwk] } })
  now += 30_000
  t.same(kids(await keys.keys(m, { refresh: false })), ['k1'], 'after the interval it is fetched again')
  t.equal(server.hits(), 2)
})
