import type { GrantHandler } from './types.js'
import { OAuthError } from '../errors.js'
import { audienceFor } from '../resource.js'
import { dpopBinding } from '../tokens.js'
import { OIDC_SCOPES, expandScopes, parseScope, sortScopes } from '../../scopes.js'

/**
 * The refresh_token grant with rotation (OAuth 2.1 §4.3.1): each refresh token works once and
 * is replaced by a new one of the same family. A used one presented again means two parties
 * hold it, so the whole family is revoked — the newest refresh token and the access tokens
 * included. `scope` may narrow what the grant held, never widen it (RFC 6749 §6).
 */
export const refreshTokenGrant: GrantHandler = async ({ tokens, store, accounts, knownScopes, log, client, clientAuthMethod, params, resources, base, dpopJkt }) => {
  const presented = params.refresh_token
  if (presented === undefined || presented === '') throw new OAuthError('invalid_request', 'refresh_token is required')
  if (!client.grantTypes.includes('refresh_token')) throw new OAuthError('unauthorized_client', 'this client may not use the refresh token grant')

  const record = await store.tokens.find(tokens.refreshTokenId(presented))
  if (record === undefined || record.kind !== 'refresh') throw new OAuthError('invalid_grant', 'the refresh token is not valid')
  if (record.clientId !== client.clientId) throw new OAuthError('invalid_grant', 'the refresh token was issued to another client')
  if (record.revokedAt !== null) throw new OAuthError('invalid_grant', 'the refresh token has been revoked')
  if (record.expiresAt <= Date.now()) throw new OAuthError('invalid_grant', 'the refresh token has expired')
  const replayed = async (): Promise<never> => {
    const revoked = record.familyId === null ? await store.tokens.revoke(record.id) : await store.tokens.revokeFamily(record.familyId)
    log.warn({ clientId: record.clientId, revoked }, 'refresh token reused: its family is revoked')
    throw new OAuthError('invalid_grant', 'the refresh token has already been used; every token of its grant is now revoked')
  }
  if (record.usedAt !== null) await replayed()
  // A bound refresh token (a public client's, RFC 9449 §5) works only with a proof by its key.
  if (record.jkt !== null && dpopJkt === undefined) throw new OAuthError('invalid_dpop_proof', 'this refresh token is DPoP-bound: a DPoP proof with its key is required')
  if (record.jkt !== null && dpopJkt !== record.jkt) throw new OAuthError('invalid_dpop_proof', 'the DPoP proof key is not the key the refresh token is bound to')

  const held = parseScope(record.scope)
  let scopes = held
  if (params.scope !== undefined && params.scope.trim() !== '') {
    const asked = expandScopes(parseScope(params.scope), knownScopes, true)
    const holding = new Set(held)
    if (asked.length === 0 || asked.some(s => !holding.has(s))) {
      throw new OAuthError('invalid_scope', 'a refresh may narrow the granted scope, never widen it')
    }
    scopes = sortScopes(asked)
  }
  // As for codes: any other resource than this service is refused; the grant's audience stays.
  if (resources.length > 0) audienceFor(base, [...resources])
  if (record.subjectKind === 'user') {
    const user = await accounts.user(record.subject)
    if (user === undefined || user.isForbidden) throw new OAuthError('invalid_grant', 'the user is forbidden or no longer exists')
    // Ending a session revokes its tokens; this also catches a token issued while it was ending.
    const session = record.sessionId === null ? undefined : await store.sessions.find(record.sessionId)
    if (session !== undefined && session.endedAt !== null) throw new OAuthError('invalid_grant', 'the session the refresh token was issued through has ended')
  } else if (client.id !== record.subject) {
    throw new OAuthError('invalid_grant', 'the refresh token does not belong to this client')
  }

  // Used up only by a request that would succeed: a refused one (wider scope, …) leaves it valid.
  if (!await store.tokens.markUsed(record.id)) await replayed()

  return await tokens.issue({
    subject: record.subject,
    subjectKind: record.subjectKind,
    clientId: client.clientId,
    scopes,
    audience: record.audience,
    issuer: base,
    ...(record.familyId === null ? {} : { familyId: record.familyId }),
    ...(record.codeId === null ? {} : { codeId: record.codeId }),
    ...(record.sessionId === null ? {} : { sessionId: record.sessionId }),
    refresh: true,
    idToken: record.subjectKind === 'user' && scopes.includes(OIDC_SCOPES[0]),
    ...dpopBinding(dpopJkt, clientAuthMethod)
  })
}
