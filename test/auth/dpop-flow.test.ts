import { test } from 'tap'
import { listen } from '../helper.js'
import { Agent, authorizePath, authorizeThrough, decodeJwt, pkce, registerPublic, tokenRequest } from '../oauth/flow.js'
import { proofKey } from './dpop-fixtures.js'

const REDIRECT = 'http://127.0.0.1:9/callback'

test('the authorization-code flow of a public client, DPoP-bound from the code exchange on', async (t) => {
  const { base } = await listen(t)
  const tokenUrl = `${base}/api/login/oauth/access_token`
  const client = await registerPublic(base, REDIRECT)
  const key = await proofKey()
  const { verifier, challenge } = pkce()
  const back = await authorizeThrough(new Agent(base), authorizePath({
    response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, scope: 'openid user:read', state: 's', code_challenge: challenge, code_challenge_method: 'S256'
  }))
  const code = back.searchParams.get('code') ?? ''
  t.ok(code, 'a code came back')

  const exchanged = await tokenRequest(base, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: client.client_id }, { dpop: await key.proof({ htm: 'POST', htu: tokenUrl }) })
  t.equal(exchanged.status, 200, JSON.stringify(exchanged.body))
  t.equal(exchanged.body.token_type, 'DPoP')
  t.same(decodeJwt(exchanged.body.access_token).cnf, { jkt: key.jkt })

  const userinfo = await fetch(`${base}/api/userinfo`, { headers: { authorization: `DPoP ${exchanged.body.access_token}`, dpop: await key.proof({ htm: 'GET', htu: `${base}/api/userinfo`, token: exchanged.body.access_token }) } })
  t.equal(userinfo.status, 200, 'the bound token with its proof at userinfo')

  const refresh = { grant_type: 'refresh_token', refresh_token: exchanged.body.refresh_token, client_id: client.client_id }
  const stolen = await tokenRequest(base, refresh)
  t.equal(stolen.status, 400, 'the refresh token alone is refused')
  t.equal(stolen.body.error, 'invalid_dpop_proof')
  const otherKey = await proofKey()
  const thief = await tokenRequest(base, refresh, { dpop: await otherKey.proof({ htm: 'POST', htu: tokenUrl }) })
  t.equal(thief.body.error, 'invalid_dpop_proof', 'a proof by another key is refused')
  const refreshed = await tokenRequest(base, refresh, { dpop: await key.proof({ htm: 'POST', htu: tokenUrl }) })
  t.equal(refreshed.status, 200, 'the holder of the key refreshes')
  t.same(decodeJwt(refreshed.body.access_token).cnf, { jkt: key.jkt })
})
