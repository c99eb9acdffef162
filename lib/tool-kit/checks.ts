import { isAlias, OIDC_SCOPES } from '../scopes.js'
import { checkRedirectUri } from '../oauth/registration.js'
import type { Store } from '../storage/store.js'
import { StoreError } from '../storage/errors.js'
import { ToolError } from './tool.js'
import { USER_NAME_PATTERN } from './arguments.js'
import { checkPublicKeySet } from '../oauth/client-assertion.js'
import { checkFetchableUrl } from '../net/fetch.js'

/* Checks of tool arguments that a schema cannot express. */

/**
 * Invisible code points by Unicode property (the schema pattern, compiled without the `u` flag,
 * can only list ranges): default-ignorables (zero-width, bidi controls, variation selectors,
 * Hangul fillers, tags), format and control characters, separators, private-use and unassigned.
 */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Z}]/u

/**
 * A user name must stay safe after NFKC folding too (a full-width `／` folds to `/`), and hold
 * nothing invisible: `ad<ZWSP>min` would be a new user that looks like `admin`.
 */
export function checkUserName (name: string): void {
  const folded = name.normalize('NFKC')
  if (INVISIBLE.test(folded)) {
    throw new ToolError('invalid', `user name ${JSON.stringify(name)} is not allowed: it contains an invisible, control or unassigned character`)
  }
  if (!new RegExp(USER_NAME_PATTERN).test(folded)) {
    throw new ToolError('invalid', `user name ${JSON.stringify(name)} is not allowed: after Unicode normalisation it contains a reserved character`)
  }
}

/**
 * Redirect URIs follow the same rule as dynamic client registration (one rule, in
 * lib/oauth/registration.ts): absolute, no fragment or credentials, https or loopback http.
 */
export function checkRedirectUris (uris: readonly string[]): void {
  for (const uri of uris) {
    try {
      checkRedirectUri(uri)
    } catch (err) {
      throw new ToolError('invalid', `redirectUris: ${(err as Error).message}`)
    }
  }
}

/**
 * What an application may be granted: known tool scopes, the aliases, and the OIDC scopes
 * (whether the caller may hand them out is `assertMayChangeApplication`'s question).
 */
export function checkApplicationScopes (scopes: readonly string[], known: ReadonlySet<string>): void {
  const unknown = scopes.filter(s => !isAlias(s) && !(OIDC_SCOPES as readonly string[]).includes(s) && !known.has(s))
  if (unknown.length > 0) {
    throw new ToolError('invalid', `scopes: unknown scope ${unknown.map(s => JSON.stringify(s)).join(', ')}; use tool scopes such as "user:read", the aliases read, write, admin, or openid, profile, email`)
  }
}

/** A permission's roles must be existing roles of its own organization. */
export async function checkPermissionRoles (store: Store, owner: string, roles: readonly string[]): Promise<void> {
  for (const role of roles) {
    if (!role.startsWith(`${owner}/`)) throw new ToolError('invalid', `roles: "${role}" is not a role of organization "${owner}"`)
    try {
      await store.roles.get(role)
    } catch (err) {
      if (err instanceof StoreError && err.code === 'not_found') throw new ToolError('invalid', `roles: role "${role}" does not exist`)
      throw err
    }
  }
}

/** An application's client authentication as it will be after a create or update. */
export interface ClientKeysState {
  tokenEndpointAuthMethod: string
  jwks: unknown
  jwksUri: string | null
}

/**
 * `private_key_jwt` needs exactly one place for its public keys (an inline set that holds only
 * public asymmetric keys, or an https URL it publishes them at); other methods have no keys.
 * `allowInsecure` is the development switch that also lets the URL be http or non-public.
 */
export async function checkClientKeys (state: ClientKeysState, allowInsecure: boolean): Promise<void> {
  const hasJwks = state.jwks !== null && state.jwks !== undefined
  const hasUri = state.jwksUri !== null
  if (state.tokenEndpointAuthMethod !== 'private_key_jwt') {
    if (hasJwks || hasUri) throw new ToolError('invalid', 'jwks and jwksUri are only for tokenEndpointAuthMethod private_key_jwt')
    return
  }
  if (hasJwks === hasUri) throw new ToolError('invalid', 'private_key_jwt needs exactly one of jwks (the public keys) or jwksUri (where they are published)')
  if (hasJwks) {
    const problem = await checkPublicKeySet(state.jwks)
    if (problem !== undefined) throw new ToolError('invalid', `jwks: ${problem}`)
    return
  }
  try {
    checkFetchableUrl(state.jwksUri ?? '', { allowInsecure })
  } catch (err) {
    throw new ToolError('invalid', `jwksUri: ${(err as Error).message}`)
  }
}
