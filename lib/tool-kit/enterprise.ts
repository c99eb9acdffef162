import { Type } from '@sinclair/typebox'
import { checkPublicKeySet } from '../oauth/client-assertion.js'
import { checkFetchableUrl } from '../net/fetch.js'
import type { Store } from '../storage/store.js'
import { StoreError } from '../storage/errors.js'
import { ToolError } from './tool.js'

/*
 * Arguments and checks of the enterprise-managed authorization tools (identity providers and
 * connections): URLs that name other authorization servers, key sets, foreign scopes.
 */

export const IssuerUrl = (what: string) =>
  Type.String({ pattern: '^https?://[^\\s#?]+$', minLength: 8, maxLength: 500, description: `${what} (an absolute http(s) URL without query or fragment, compared exactly)` })

export const ProviderJwksUri = Type.String({ pattern: '^https?://[^\\s#]+$', maxLength: 2000, description: 'where the provider publishes its public keys (https; fetched with SSRF protections, at most 5 KiB)' })

/** A JWK Set as an argument: its keys are checked by `checkProviderKeys`. */
export const ProviderJwks = Type.Object({
  keys: Type.Array(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown()), { minItems: 1, maxItems: 10 })
}, { description: 'the provider\'s public keys, a JWK Set (RSA, EC or OKP public keys; no private or symmetric keys)' })

/** A scope at another server: an RFC 6749 scope token. */
export const ForeignScope = Type.String({ pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,100}$', description: 'a scope token of the target server' })

/**
 * Refuses keys that are not usable public asymmetric keys (the rule clients' key sets follow: a
 * private or symmetric key here would be a secret stored in the clear and shown back), and a key
 * set URL the fetcher would refuse.
 */
export async function checkProviderKeys (keys: { jwks?: unknown, jwksUri?: string }, allowInsecure: boolean): Promise<void> {
  if (keys.jwks !== undefined) {
    const problem = await checkPublicKeySet(keys.jwks)
    if (problem !== undefined) throw new ToolError('invalid', `jwks: ${problem}`)
  }
  if (keys.jwksUri !== undefined) {
    try {
      checkFetchableUrl(keys.jwksUri, { allowInsecure })
    } catch (err) {
      throw new ToolError('invalid', `jwksUri: ${(err as Error).message}`)
    }
  }
}

/** Exactly one of an inline key set or a key set URL. */
export function checkOneKeySource (jwks: unknown, jwksUri: unknown): void {
  const given = (jwks != null ? 1 : 0) + (jwksUri != null ? 1 : 0)
  if (given !== 1) throw new ToolError('invalid', 'give exactly one of jwks (the keys) and jwksUri (where they are published)')
}

/** A connection's clients must be existing applications of its own organization. */
export async function checkConnectionClients (store: Store, owner: string, clients: readonly string[]): Promise<void> {
  for (const client of clients) {
    if (!client.startsWith(`${owner}/`)) throw new ToolError('invalid', `clients: "${client}" is not an application of organization "${owner}"`)
    try {
      await store.applications.get(client)
    } catch (err) {
      if (err instanceof StoreError && err.code === 'not_found') throw new ToolError('invalid', `clients: application "${client}" does not exist`)
      throw err
    }
  }
}
