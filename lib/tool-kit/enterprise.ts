import { Type } from '@sinclair/typebox'
import { importJWK } from 'jose'
import type { Store } from '../storage/store.js'
import { StoreError } from '../storage/errors.js'
import { ToolError } from './tool.js'

/*
 * Arguments and checks of the enterprise-managed authorization tools (identity providers and
 * connections): URLs that name other authorization servers, key sets, foreign scopes.
 */

export const IssuerUrl = (what: string) =>
  Type.String({ pattern: '^https?://[^\\s#?]+$', minLength: 8, maxLength: 500, description: `${what} (an absolute http(s) URL without query or fragment, compared exactly)` })

export const JwksUri = Type.String({ pattern: '^https?://[^\\s#]+$', maxLength: 2000, description: 'where the public keys are published (https; fetched with SSRF protections, at most 5 KiB)' })

/** A JWK Set as an argument: its keys are checked by `checkPublicJwks`. */
export const Jwks = Type.Object({
  keys: Type.Array(Type.Record(Type.String(), Type.Unknown()), { minItems: 1, maxItems: 20 })
}, { description: 'an inline JWK Set of public keys (RSA, EC or OKP)' })

/** A scope at another server: an RFC 6749 scope token. */
export const ForeignScope = Type.String({ pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,100}$', description: 'a scope token of the target server' })

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']
const ASYMMETRIC = new Set(['RSA', 'EC', 'OKP'])

/**
 * Refuses a key set that holds anything but importable public asymmetric keys: a private or
 * symmetric key here would be a secret stored in the clear and shown back by the read tools.
 */
export async function checkPublicJwks (field: string, jwks: { keys: Array<Record<string, unknown>> }): Promise<void> {
  if (JSON.stringify(jwks).length > 20_000) throw new ToolError('invalid', `${field}: the key set is larger than 20,000 characters`)
  for (const [i, key] of jwks.keys.entries()) {
    if (typeof key.kty !== 'string' || !ASYMMETRIC.has(key.kty)) throw new ToolError('invalid', `${field}.keys[${i}]: kty must be RSA, EC or OKP (no symmetric keys)`)
    const secret = PRIVATE_MEMBERS.filter(m => m in key)
    if (secret.length > 0) throw new ToolError('invalid', `${field}.keys[${i}]: holds private key material (${secret.join(', ')}); give public keys only`)
    try {
      await importJWK(key as Parameters<typeof importJWK>[0], typeof key.alg === 'string' ? key.alg : defaultAlgorithm(key))
    } catch {
      throw new ToolError('invalid', `${field}.keys[${i}]: not a usable public key`)
    }
  }
}

function defaultAlgorithm (key: Record<string, unknown>): string {
  if (key.kty === 'RSA') return 'RS256'
  if (key.kty === 'OKP') return 'EdDSA'
  return key.crv === 'P-384' ? 'ES384' : key.crv === 'P-521' ? 'ES512' : 'ES256'
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
