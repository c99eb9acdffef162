import { Type, type TSchema } from '@sinclair/typebox'
import type { Page } from '../storage/paging.js'
import { MAX_LIMIT } from '../storage/paging.js'
import { SLUG_PATTERN } from '../patterns.js'

/*
 * The argument shapes the tools share (names, ids, paging) and the list conventions: a list
 * answers `{ items, nextCursor? }`; a single object answers `{ <kind>: {...} }` (plus
 * `clientSecret` where one is shown once).
 */

export { SLUG_PATTERN }
export const Slug = (description: string) =>
  Type.String({ pattern: SLUG_PATTERN, minLength: 1, maxLength: 64, description: `${description} (1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)` })

/**
 * User names may be any script (a look-alike of an existing name is a conflict), but no
 * whitespace, control characters, `/`, `\` or URL-special characters, and not `.` or `..`.
 * Nor invisible or bidi-control characters (soft hyphen, zero-width, direction marks,
 * embeddings, isolates): NFKC keeps them, so `ad<ZWSP>min` would be a new user that looks like `admin`.
 */
export const USER_NAME_PATTERN = '^(?![.]{1,2}$)[^\\s\\x00-\\x1f\\x7f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u206f\\ufeff/\\\\?#%"\'<>:]{1,64}$'
export const UserName = Type.String({ pattern: USER_NAME_PATTERN, minLength: 1, maxLength: 64, description: 'user name, unique in its organization after NFKC normalisation, case folding and confusable mapping (an e-mail address works; no whitespace, "/", "\\", ":", "?", "#", "%", quotes or angle brackets)' })

/** `owner/name`. */
export const ID_PATTERN = '^[^\\s/]{1,64}/[^\\s/]{1,64}$'
export const Id = (what: string) =>
  Type.String({ pattern: ID_PATTERN, maxLength: 129, description: `the ${what}'s id, "owner/name"` })

/** An organization's id (`admin/<name>`) or bare name. */
export const OrganizationRef = Type.String({ pattern: '^(admin/)?[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', maxLength: 70, description: 'the organization\'s id ("admin/<name>") or name' })

export const DisplayName = Type.String({ maxLength: 200, description: 'human-readable name' })
export const Description = Type.String({ maxLength: 2000 })
export const EMAIL_PATTERN = '^$|^[^\\s@]{1,64}@[^\\s@]+\\.[^\\s@]+$'
export const Email = Type.String({ pattern: EMAIL_PATTERN, maxLength: 254, description: 'e-mail address ("" clears it)' })
export const PHONE_PATTERN = '^$|^[+]?[0-9][0-9 ().-]{2,31}$'
export const Phone = Type.String({ pattern: PHONE_PATTERN, maxLength: 32, description: 'phone number, digits with optional leading + ("" clears it)' })
export const Password = Type.String({ minLength: 8, maxLength: 256, description: 'new password (8-256 characters); stored only as a hash, never shown' })
export const WEBSITE_PATTERN = '^$|^https?://[^\\s]+$'
export const WebsiteUrl = Type.String({ pattern: WEBSITE_PATTERN, maxLength: 2000, description: 'http(s) URL ("" clears it)' })
export const RedirectUri = Type.String({ pattern: '^https?://[^\\s#]+$', maxLength: 2000, description: 'absolute https URL without fragment (http only on loopback hosts)' })
export const TokenEndpointAuthMethod = Type.Union([Type.Literal('client_secret_basic'), Type.Literal('client_secret_post'), Type.Literal('private_key_jwt'), Type.Literal('none')], {
  description: 'how it authenticates at the token endpoint: a secret (client_secret_basic, client_secret_post), a JWT signed with its private key (private_key_jwt: give jwks or jwksUri; no secret), or none (a public client, PKCE)'
})
export const Jwks = Type.Object({
  keys: Type.Array(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown()), { minItems: 1, maxItems: 10 })
}, { description: 'its public keys for private_key_jwt, a JWK Set (RSA, EC or OKP public keys; no private or symmetric keys)' })
export const JwksUri = Type.String({ pattern: '^https?://[^\\s#]+$', maxLength: 2000, description: 'where it publishes its public keys for private_key_jwt (https; fetched, cached by its caching headers)' })
export const ApplicationType = Type.Union([Type.Literal('web'), Type.Literal('native')], { description: 'web (default) or native (RFC 7591)' })
export const GrantType = Type.Union([
  Type.Literal('authorization_code'), Type.Literal('client_credentials'), Type.Literal('refresh_token'),
  // Enterprise-managed authorization: identity assertions in (jwt-bearer), out (token-exchange).
  Type.Literal('urn:ietf:params:oauth:grant-type:jwt-bearer'), Type.Literal('urn:ietf:params:oauth:grant-type:token-exchange')
])
export const APP_SCOPE_PATTERN = '^(read|write|admin|openid|profile|email|[a-z][a-z0-9_-]*:(read|write))$'
export const AppScope = Type.String({ pattern: APP_SCOPE_PATTERN, maxLength: 100, description: 'a tool scope ("user:read"), an alias (read, write, admin) or an OIDC scope (openid, profile, email)' })
export const Timestamp = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}([.]\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$', description: 'ISO 8601 date-time with zone, e.g. 2026-01-31T12:00:00Z' })

/** Paging arguments of every list tool. */
export const PagingArguments = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, description: `page size, 1-${MAX_LIMIT} (default 50)` })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' }))
}

/** What the list tools of organization-owned objects accept. */
export const ListArguments = {
  owner: Type.Optional(Type.String({ pattern: SLUG_PATTERN, maxLength: 64, description: 'only objects of this organization (callers outside `built-in` only ever see their own)' })),
  filter: Type.Optional(Type.String({ maxLength: 100, description: 'case-insensitive substring of the name or display name' })),
  ...PagingArguments
}

/** `{ items, nextCursor? }`. */
export function PageOf<T extends TSchema> (item: T) {
  return Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Optional(Type.String({ description: 'pass as cursor to get the next page; absent on the last page' }))
  })
}

export function pageOut<T, O> (page: Page<T>, map: (item: T) => O): { items: O[], nextCursor?: string } {
  const out: { items: O[], nextCursor?: string } = { items: page.items.map(map) }
  if (page.nextCursor !== undefined) out.nextCursor = page.nextCursor
  return out
}

/**
 * The first item `fetch`'s pages hold that matches, paging on until there is none: for objects
 * named by something a list filter cannot ask for (a session's handle is a digest).
 */
export async function findInPages<T> (fetch: (cursor: string | undefined) => Promise<Page<T>>, matches: (item: T) => boolean): Promise<T | undefined> {
  let cursor: string | undefined
  do {
    const page = await fetch(cursor)
    const found = page.items.find(matches)
    if (found !== undefined) return found
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return undefined
}
