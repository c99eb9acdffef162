import type { GrantHandler } from './types.js'
import { OAuthError } from '../errors.js'
import { audienceFor } from '../resource.js'
import { expandScopes, isAlias, OIDC_SCOPES, parseScope } from '../../scopes.js'
import { grantableScopes, mayActForItself } from '../../auth/policy.js'

/**
 * RFC 6749 §4.4: an application acting for itself, when the policy lets it. Requested scopes
 * (aliases expanded) must all be ones the application may be granted, else `invalid_scope`; no
 * scope means everything it may be granted. OIDC scopes belong to user flows and are never
 * granted here (dropped). No refresh token (§4.4.3).
 */
export const clientCredentialsGrant: GrantHandler = async ({ tokens, knownScopes: known, client, params, resources, base }) => {
  if (!mayActForItself(client)) {
    throw new OAuthError('unauthorized_client', 'this client may not act for itself (client_credentials)')
  }
  const allowed = new Set(grantableScopes(client, known, 'self'))
  const requested = parseScope(params.scope).filter(s => !(OIDC_SCOPES as readonly string[]).includes(s))
  let granted: string[]
  if (params.scope === undefined || params.scope.trim() === '') {
    granted = [...allowed]
  } else {
    for (const scope of requested) {
      if (!isAlias(scope) && !known.has(scope)) throw new OAuthError('invalid_scope', `unknown scope "${scope}"`)
    }
    granted = expandScopes(requested, known)
    const refused = granted.filter(s => !allowed.has(s))
    if (refused.length > 0) throw new OAuthError('invalid_scope', `the client may not be granted: ${refused.join(' ')}`)
  }
  if (granted.length === 0) throw new OAuthError('invalid_scope', 'no scope that this client may be granted was requested')
  const audience = audienceFor(base, resources.length === 0 ? undefined : [...resources])
  return await tokens.issue({
    subject: client.id,
    subjectKind: 'application',
    clientId: client.clientId,
    scopes: expandScopes(granted, known),
    audience,
    issuer: base
  })
}
