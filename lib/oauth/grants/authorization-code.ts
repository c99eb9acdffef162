import { randomUUID } from 'node:crypto'
import type { GrantHandler } from './types.js'
import { OAuthError } from '../errors.js'
import { audienceFor } from '../resource.js'
import { dpopBinding } from '../tokens.js'
import { verifyCodeVerifier } from '../pkce.js'
import { OIDC_SCOPES, parseScope } from '../../scopes.js'

/**
 * The authorization_code grant (RFC 6749 §4.1.3, OAuth 2.1, RFC 7636): a one-time code, for the
 * client it was issued to, with its exact redirect URI and the PKCE verifier of its challenge,
 * for public and confidential clients alike. A second use of a code revokes every token issued
 * from it. `resource`, when sent, must name this service; the tokens' `aud` is the code's.
 * The response always carries a rotating refresh token, and an ID token when `openid` was
 * granted (`aud` = client id, with the request's `nonce`).
 */
export const authorizationCodeGrant: GrantHandler = async ({ tokens, store, accounts, log, client, clientAuthMethod, params, resources, base, dpopJkt }) => {
  const raw = params.code
  if (raw === undefined || raw === '') throw new OAuthError('invalid_request', 'code is required')
  if (!client.grantTypes.includes('authorization_code')) throw new OAuthError('unauthorized_client', 'this client may not use the authorization code grant')

  const taken = await store.codes.consume(store.digest(raw))
  if (taken === undefined) throw new OAuthError('invalid_grant', 'the authorization code is not valid')
  const { code, used } = taken
  if (used) {
    // A replayed code has leaked: what its first exchange issued is no longer safe. Mark first,
    // then revoke: an exchange still in flight checks the mark after issuing (below).
    await store.codes.markReplayed(code.id)
    const revoked = await store.tokens.revokeByCode(code.id)
    log.warn({ clientId: code.clientId, revoked }, 'authorization code reused: the tokens issued from it are revoked')
    throw new OAuthError('invalid_grant', 'the authorization code has already been used')
  }
  if (code.clientId !== client.clientId) throw new OAuthError('invalid_grant', 'the authorization code was issued to another client')
  if (code.expiresAt <= Date.now()) throw new OAuthError('invalid_grant', 'the authorization code has expired')

  const redirectUri = params.redirect_uri ?? (client.redirectUris.length === 1 ? client.redirectUris[0] : undefined)
  if (redirectUri === undefined) throw new OAuthError('invalid_request', 'redirect_uri is required')
  if (redirectUri !== code.redirectUri) throw new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request')
  if (params.code_verifier === undefined) throw new OAuthError('invalid_grant', 'code_verifier is required (PKCE)')
  if (!verifyCodeVerifier(params.code_verifier, code.codeChallenge)) throw new OAuthError('invalid_grant', 'code_verifier does not match the code challenge')
  // `{base}` and `{base}/api/mcp` are one protected resource (each accepts the other's tokens),
  // and clients do send either: any other resource is refused; the code's stays the audience.
  if (resources.length > 0) audienceFor(base, [...resources])
  const user = await accounts.user(code.userId)
  if (user === undefined || user.isForbidden) throw new OAuthError('invalid_grant', 'the user is forbidden or no longer exists')
  // The tokens live only as long as the session the person signed in with: logging out ends them.
  if (code.sessionId !== null && await accounts.liveSession(code.sessionId) === undefined) {
    throw new OAuthError('invalid_grant', 'the session the code was issued through has ended')
  }

  const scopes = parseScope(code.scope)
  const response = await tokens.issue({
    subject: user.id,
    subjectKind: 'user',
    clientId: client.clientId,
    scopes,
    audience: code.resource,
    issuer: base,
    codeId: code.id,
    ...(code.sessionId === null ? {} : { sessionId: code.sessionId }),
    // The grant's family from the first token on, so that revoking it reaches these access tokens too.
    familyId: randomUUID(),
    refresh: true,
    idToken: scopes.includes(OIDC_SCOPES[0]),
    ...(code.nonce === null ? {} : { nonce: code.nonce }),
    authTime: Math.floor(code.createdAt / 1000),
    ...dpopBinding(dpopJkt, clientAuthMethod)
  })
  if (await store.codes.wasReplayed(code.id)) {
    // Replayed while these tokens were being issued: the replay's revocation may have missed them.
    await store.tokens.revokeByCode(code.id)
    throw new OAuthError('invalid_grant', 'the authorization code has already been used')
  }
  return response
}
