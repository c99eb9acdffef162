import type { AuthFailure } from './principal.js'
import { sortScopes } from './scopes.js'
import { DPOP_ALGORITHMS } from './auth/dpop.js'

/** RFC 9728 metadata URL for this service's root resource. */
export function resourceMetadataUrl (base: string): string {
  return `${base}/.well-known/oauth-protected-resource`
}

function quote (value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`
}

/**
 * The 401 challenge (RFC 6750 + RFC 9728): where to discover the authorization server, and
 * every scope the tools declare, so that a stock client asks for everything at once and the
 * consent page lets the person narrow it. A bad token adds `error="invalid_token"`. A token
 * refused for a DPoP reason (RFC 9449 §7.1: a bound token sent as Bearer, an unbound one sent as
 * DPoP, a missing or bad proof) gets a `DPoP` challenge with the same parameters, naming the
 * proof algorithms and the error.
 */
export function unauthorizedChallenge (base: string, scopes: Iterable<string>, failure?: AuthFailure): string {
  if (failure !== undefined && (failure.reason === 'invalid_dpop_proof' || (failure.reason === 'invalid_token' && failure.dpop === true))) {
    return [
      'DPoP realm="/.well-known/oauth-protected-resource"',
      `resource_metadata=${quote(resourceMetadataUrl(base))}`,
      `scope=${quote(sortScopes(scopes).join(' '))}`,
      `algs=${quote(DPOP_ALGORITHMS.join(' '))}`,
      `error=${quote(failure.reason)}`,
      `error_description=${quote(failure.description)}`
    ].join(', ')
  }
  const parts = [
    'Bearer realm="/.well-known/oauth-protected-resource"',
    `resource_metadata=${quote(resourceMetadataUrl(base))}`,
    `scope=${quote(sortScopes(scopes).join(' '))}`
  ]
  if (failure !== undefined && failure.reason === 'invalid_token') {
    parts.push('error="invalid_token"', `error_description=${quote(failure.description)}`)
  }
  return parts.join(', ')
}

/**
 * The 403 step-up challenge: the token's scopes plus the tool's, so that a client that
 * re-authorizes with exactly this scope loses nothing it had.
 */
export function insufficientScopeChallenge (base: string, granted: Iterable<string>, required: Iterable<string>): string {
  return [
    'Bearer error="insufficient_scope"',
    `scope=${quote(sortScopes([...granted, ...required]).join(' '))}`,
    `resource_metadata=${quote(resourceMetadataUrl(base))}`
  ].join(', ')
}
