import { test } from 'tap'
import { listen } from '../helper.js'
import { register } from './flow.js'

const REDIRECT = 'http://127.0.0.1:8123/callback'

test('dynamic client registration (RFC 7591) and management (RFC 7592)', async (t) => {
  const { app, base } = await listen(t, { env: { RATE_LIMIT_MAX: '1000' } })

  await t.test('a public client', async (t) => {
    const res = await register(base, { client_name: 'My <b>agent</b>', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], scope: 'user:read offline_access' })
    t.equal(res.status, 201)
    t.equal(res.headers.get('cache-control'), 'no-store')
    const body = await res.json() as Record<string, any>
    t.type(body.client_id, 'string')
    t.notOk('client_secret' in body, 'no secret for a public client')
    t.equal(body.token_endpoint_auth_method, 'none')
    t.same(body.grant_types, ['authorization_code', 'refresh_token'])
    t.same(body.redirect_uris, [REDIRECT])
    t.equal(body.client_name, 'My <b>agent</b>')
    t.equal(body.scope, 'openid profile email user:read')
    t.equal(body.registration_client_uri, `${base}/api/oauth/register/${body.client_id}`)
    t.type(body.registration_access_token, 'string')
    const stored = await app.store.applications.findByClientId(body.client_id)
    t.equal(stored?.owner, 'built-in', 'lands in REGISTRATION_ORGANIZATION')
    t.equal(stored?.isDynamic, true)
    t.same(stored?.grantTypes, ['authorization_code', 'refresh_token'])

    // RFC 7592: read, update, delete with the registration access token.
    const auth = { authorization: `Bearer ${body.registration_access_token}` }
    const read = await fetch(body.registration_client_uri, { headers: auth })
    t.equal(read.status, 200)
    t.equal((await read.json() as Record<string, any>).client_id, body.client_id)
    t.equal((await fetch(body.registration_client_uri)).status, 401, 'the registration access token is required')
    t.equal((await fetch(body.registration_client_uri, { headers: { authorization: 'Bearer wrong' } })).status, 401)
    const update = await fetch(body.registration_client_uri, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: body.client_id, client_name: 'Renamed', redirect_uris: [REDIRECT, 'https://app.example/cb'] })
    })
    t.equal(update.status, 200)
    const updated = await update.json() as Record<string, any>
    t.equal(updated.client_name, 'Renamed')
    t.same(updated.redirect_uris, [REDIRECT, 'https://app.example/cb'])
    const badUpdate = await fetch(body.registration_client_uri, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: body.client_id, redirect_uris: ['http://evil.example/cb'] })
    })
    t.equal(badUpdate.status, 400)
    t.equal((await badUpdate.json() as Record<string, any>).error, 'invalid_redirect_uri')
    const bootstrap = await fetch(`${base}/api/oauth/register/test-bootstrap-client`, { headers: auth })
    t.equal(bootstrap.status, 401, "one client's token does not reach another")
    const del = await fetch(body.registration_client_uri, { method: 'DELETE', headers: auth })
    t.equal(del.status, 204)
    t.equal(await app.store.applications.findByClientId(body.client_id), undefined)
    t.equal((await fetch(body.registration_client_uri, { headers: auth })).status, 401)
  })

  await t.test('a confidential client gets a secret that works at the token endpoint', async (t) => {
    const res = await register(base, { client_name: 'Server app', redirect_uris: ['https://app.example/callback'] })
    t.equal(res.status, 201)
    const body = await res.json() as Record<string, any>
    t.equal(body.token_endpoint_auth_method, 'client_secret_basic')
    t.type(body.client_secret, 'string')
    t.equal(body.client_secret_expires_at, 0)
    t.ok(await app.store.applications.authenticate(body.client_id, body.client_secret))
    const cc = await fetch(`${base}/api/login/oauth/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${body.client_id}:${body.client_secret}`).toString('base64')}` },
      body: 'grant_type=client_credentials'
    })
    t.equal(cc.status, 400, 'never client_credentials for a registered client')
    t.equal((await cc.json() as Record<string, any>).error, 'unauthorized_client')
  })

  await t.test('validation errors', async (t) => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ client_name: 'x' }, 'invalid_redirect_uri', 'redirect_uris required'],
      [{ redirect_uris: [] }, 'invalid_redirect_uri', 'at least one'],
      [{ redirect_uris: ['http://app.example/cb'] }, 'invalid_redirect_uri', 'http only on loopback'],
      [{ redirect_uris: ['https://app.example/cb#frag'] }, 'invalid_redirect_uri', 'no fragment'],
      [{ redirect_uris: ['not a url'] }, 'invalid_redirect_uri', 'absolute URL'],
      [{ redirect_uris: ['javascript:alert(1)'] }, 'invalid_redirect_uri', 'no other scheme'],
      [{ redirect_uris: ['https://user:pw@app.example/cb'] }, 'invalid_redirect_uri', 'no credentials'],
      [{ redirect_uris: [REDIRECT], grant_types: ['client_credentials'] }, 'invalid_client_metadata', 'no client_credentials'],
      [{ redirect_uris: [REDIRECT], grant_types: ['implicit'] }, 'invalid_client_metadata', 'no implicit'],
      [{ redirect_uris: [REDIRECT], response_types: ['token'] }, 'invalid_client_metadata', 'code only'],
      [{ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata', 'known auth methods'],
      [{ redirect_uris: 'https://app.example/cb' }, 'invalid_client_metadata', 'schema: an array']
    ]
    for (const [metadata, error, why] of cases) {
      const res = await register(base, metadata)
      t.equal(res.status, 400, why)
      const body = await res.json() as Record<string, any>
      t.equal(body.error, error, why)
      t.type(body.error_description, 'string')
    }
    const loopbacks = ['http://localhost:3000/cb', 'http://[::1]:3000/cb', 'http://127.0.0.1/cb', 'https://app.example/cb']
    const ok = await register(base, { redirect_uris: loopbacks, token_endpoint_auth_method: 'none' })
    t.equal(ok.status, 201, 'loopback http and https are accepted')
  })
})

test('registration modes', async (t) => {
  await t.test('closed', async (t) => {
    const { base } = await listen(t, { env: { REGISTRATION: 'closed' } })
    const res = await register(base, { redirect_uris: [REDIRECT] })
    t.equal(res.status, 403)
    t.equal((await res.json() as Record<string, any>).error, 'access_denied')
  })
  await t.test('initial access token', async (t) => {
    const initial = 'initial-access-token-for-tests'
    const { base } = await listen(t, { env: { REGISTRATION: 'token', REGISTRATION_INITIAL_TOKEN: initial } })
    const none = await register(base, { redirect_uris: [REDIRECT] })
    t.equal(none.status, 401)
    t.match(none.headers.get('www-authenticate'), /Bearer error="invalid_token"/)
    t.equal((await register(base, { redirect_uris: [REDIRECT] }, { authorization: 'Bearer wrong-token-value' })).status, 401)
    t.equal((await register(base, { redirect_uris: [REDIRECT] }, { authorization: `Bearer ${initial}` })).status, 201)
  })
  await t.test('rate limited', async (t) => {
    const { base } = await listen(t, { env: { RATE_LIMIT_MAX: '20' } })
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) statuses.push((await register(base, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' })).status)
    t.same(statuses.slice(0, 10), Array(10).fill(201))
    t.equal(statuses[11], 429)
  })
})
