import type { GrantHandler } from './types.js'
import { OAuthError } from '../errors.js'
import { audienceFor } from '../resource.js'
import { dpopBinding } from '../tokens.js'
import { expandScopes, parseScope, sortScopes } from '../../scopes.js'
import { grantableScopes, mayActForItself } from '../../auth/policy.js'

/**
 * RFC 6749 §4.4: an application acting for itself, when the policy lets it. The requested scope
 * (aliases expanded) is narrowed to what the application may be granted (§3.3 lets the server
 * grant less than asked, and the response's `scope` says what was granted): a stock MCP client
 * asks for the 401 challenge's scope list, every tool scope, and an application allowed two of
 * them must still connect. Unknown scopes and OIDC scopes (they belong to user flows) are dropped
 * the same way. No scope means everything it may be granted; nothing left → `invalid_scope`.
 * No refresh token (§4.4.3).
 */
export const clientCredentialsGrant: GrantHandler = async ({ tokens, knownScopes: known, client, clientAuthMethod, params, resources, base, dpopJkt }) => {
  if (!mayActForItself(client)) {
    throw new OAuthError('unauthorized_client', 'this client may not act for itself (client_credentials)')
  }
  // Already expanded against the tools' scopes: the result needs no second expansion.
  const allowed = grantableScopes(client, known, 'self')
  const asked = parseScope(params.scope)
  const granted = asked.length === 0
    ? allowed
    : sortScopes(expandScopes(asked, known).filter(s => allowed.includes(s)))
  if (granted.length === 0) throw new OAuthError('invalid_scope', 'none of the requested scopes can be granted to this client')
  const audience = audienceFor(base, resources.length === 0 ? undefined : [...resources])
  return await tokens.issue({
    subject: client.id,
    subjectKind: 'application',
    clientId: client.clientId,
    scopes: granted,
    audience,
    issuer: base,
    ...dpopBinding(dpopJkt, clientAuthMethod)
  })
}
