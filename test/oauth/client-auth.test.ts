import { test } from 'tap'
import { authenticateClient, authorizationScheme, claimedClientId, type ClientAuthServices } from '../../lib/oauth/client-auth.js'
import type { Application } from '../../lib/storage/models.js'

const app = (clientId: string, over: Partial<Application> = {}): Application => ({ id: `acme/${clientId}`, owner: 'acme', name: clientId, displayName: clientId, clientId, tokenEndpointAuthMethod: 'client_secret_basic', redirectUris: [], grantTypes: ['client_credentials'], scopes: [], isDisabled: false, isDynamic: false, isMetadataDocument: false, applicationType: 'web', jwks: null, jwksUri: null, dpopBoundAccessTokens: false, metadataExpiresAt: null, createdTime: '', updatedTime: '', ...over })
const basic = (id: string, secret: string): string => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64')

/** Client authentication is plain lib: the auth-state lookups it needs are all it is given. */
test('authenticateClient without a server', async (t) => {
  let fresh = 0
  const services: ClientAuthServices = {
    ensureFresh: () => { fresh++; return undefined },
    authenticateClient: async (id, secret) => (id === 'conf' && secret === 's3cret' ? app('conf') : undefined),
    application: async (id) => (id === 'pub' ? app('pub', { tokenEndpointAuthMethod: 'none' }) : id === 'conf' ? app('conf') : undefined),
    assertions: { keys: async () => ({ keys: [] }), claim: async () => true }
  }
  const AUD = { issuer: 'https://iam.example', audiences: ['https://iam.example'] }
  t.match(await authenticateClient(services, basic('conf', 's3cret'), {}, AUD), { client: { clientId: 'conf' }, method: 'client_secret_basic' })
  t.match(await authenticateClient(services, undefined, { client_id: 'conf', client_secret: 's3cret' }, AUD), { method: 'client_secret_post' })
  t.match(await authenticateClient(services, undefined, { client_id: 'pub' }, AUD), { client: { clientId: 'pub' }, method: 'none' })
  t.equal(fresh, 3, 'revocation data is checked for freshness each time')
  await t.rejects(authenticateClient(services, undefined, { client_id: 'conf' }, AUD), { code: 'invalid_client' }, 'a confidential client cannot name itself alone')
  await t.rejects(authenticateClient(services, basic('conf', 'wrong'), {}, AUD), { code: 'invalid_client' })
  await t.rejects(authenticateClient(services, basic('conf', 's3cret'), { client_secret: 's3cret' }, AUD), { code: 'invalid_request' }, 'one method only')
  await t.rejects(authenticateClient(services, undefined, {}, AUD), { code: 'invalid_client', message: 'client authentication is required' })
  t.equal(authorizationScheme(' Basic abc'), 'basic')
  t.equal(authorizationScheme(undefined), undefined)
  t.equal(claimedClientId(basic('conf', 'x'), { client_id: 'other' }), 'conf')
  t.equal(claimedClientId(undefined, { client_id: 'other' }), 'other')
  t.equal(claimedClientId(undefined, { client_assertion: 'eyJhbGciOiAiRVMyNTYifQ.eyJpc3MiOiAibWFjaGluZS03In0.sig' }), 'machine-7', 'an assertion\'s iss, unverified, keys the rate limit')
  t.equal(claimedClientId(undefined, { client_assertion: 'garbage' }), undefined)
  await t.rejects(authenticateClient(services, undefined, { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' }, AUD), { code: 'invalid_client', message: /client_assertion is required/ })
})
