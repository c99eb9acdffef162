import { test } from 'tap'
import { listen } from '../helper.js'
import { Agent, authorizePath, authorizeThrough, basic, decodeJwt, pkce, register, tokenRequest } from './flow.js'

const REDIRECT = 'http://127.0.0.1:9/callback'

test('RFC 7592 DELETE revokes the registration\'s tokens, as delete_application does', async (t) => {
  const { app, base } = await listen(t)
  const client = await (await register(base, { client_name: 'Leaving', redirect_uris: [REDIRECT] })).json() as Record<string, string>
  const { verifier, challenge } = pkce()
  const location = await authorizeThrough(new Agent(base), authorizePath({
    response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: 'S256', scope: 'account:read'
  }))
  // A confidential registered client still authenticates with Basic at the token endpoint.
  const tokens = await tokenRequest(base, { grant_type: 'authorization_code', code: location.searchParams.get('code') ?? '', code_verifier: verifier, redirect_uri: REDIRECT }, basic(client.client_id, client.client_secret))
  t.equal(tokens.status, 200, JSON.stringify(tokens.body))
  const access = decodeJwt(tokens.body.access_token as string).jti as string
  const refresh = app.tokens.refreshTokenId(tokens.body.refresh_token as string)
  t.equal((await app.store.tokens.find(refresh))?.revokedAt, null, 'a live refresh token was stored')

  const del = await fetch(client.registration_client_uri, { method: 'DELETE', headers: { authorization: `Bearer ${client.registration_access_token}` } })
  t.equal(del.status, 204)
  t.not((await app.store.tokens.find(access))?.revokedAt ?? null, null, 'the access token is revoked')
  t.not((await app.store.tokens.find(refresh))?.revokedAt ?? null, null, 'the refresh token is revoked')
})
