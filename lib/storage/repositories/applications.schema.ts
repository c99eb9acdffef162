import { Type, type Static } from '@sinclair/typebox'
import { iso, parseList } from '../columns.js'

/** The `applications` table, as Kysely sees it. */
export interface ApplicationRow {
  id: string
  owner: string
  name: string
  display_name: string
  client_id: string
  client_secret_digest: string | null
  token_endpoint_auth_method: string
  redirect_uris: string
  grant_types: string
  scopes: string
  is_disabled: number
  is_dynamic: number
  registration_token_digest: string | null
  application_type: string
  /** An inline JWK Set (JSON) for `private_key_jwt`. */
  jwks: string | null
  jwks_uri: string | null
  dpop_bound_access_tokens: number
  is_metadata_document: number
  /** When the cached metadata document must be fetched again (metadata-document clients only). */
  metadata_expires_at: number | null
  created_at: number
  updated_at: number
}

/** An application as the repository returns it: never its secret's or registration token's digest. */
export interface Application {
  id: string
  owner: string
  name: string
  displayName: string
  clientId: string
  /**
   * `none` for public clients (no secret), `private_key_jwt` (keys in `jwks` or at `jwksUri`, no
   * secret), else `client_secret_basic` / `client_secret_post`.
   */
  tokenEndpointAuthMethod: string
  redirectUris: string[]
  grantTypes: string[]
  scopes: string[]
  isDisabled: boolean
  isDynamic: boolean
  /** Known by the URL of its Client ID Metadata Document, which is its client id. */
  isMetadataDocument: boolean
  /** RFC 7591 `application_type`: `web` or `native`. */
  applicationType: 'web' | 'native'
  /** An inline JWK Set, for `private_key_jwt`. */
  jwks: { keys: Array<Record<string, unknown>> } | null
  jwksUri: string | null
  /** Every access token it gets is DPoP-bound (RFC 9449 §5.2 `dpop_bound_access_tokens`). */
  dpopBoundAccessTokens: boolean
  /** Milliseconds since the epoch; null unless it is a metadata-document client. */
  metadataExpiresAt: number | null
  createdTime: string
  updatedTime: string
}

export function toApplication (r: ApplicationRow): Application {
  return {
    id: r.id,
    owner: r.owner,
    name: r.name,
    displayName: r.display_name,
    clientId: r.client_id,
    tokenEndpointAuthMethod: r.token_endpoint_auth_method,
    redirectUris: parseList(r.redirect_uris),
    grantTypes: parseList(r.grant_types),
    scopes: parseList(r.scopes),
    isDisabled: r.is_disabled === 1,
    isDynamic: r.is_dynamic === 1,
    isMetadataDocument: r.is_metadata_document === 1,
    applicationType: r.application_type === 'native' ? 'native' : 'web',
    jwks: r.jwks === null ? null : JSON.parse(r.jwks),
    jwksUri: r.jwks_uri,
    dpopBoundAccessTokens: r.dpop_bound_access_tokens === 1,
    metadataExpiresAt: r.metadata_expires_at,
    createdTime: iso(r.created_at),
    updatedTime: iso(r.updated_at)
  }
}

/** An application as tools show it: built field by field, never its secret. */
export const ApplicationSchema = Type.Object({
  id: Type.String(),
  owner: Type.String(),
  name: Type.String(),
  displayName: Type.String(),
  clientId: Type.String(),
  tokenEndpointAuthMethod: Type.String(),
  redirectUris: Type.Array(Type.String()),
  grantTypes: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
  isDisabled: Type.Boolean(),
  isDynamic: Type.Boolean({ description: 'registered through dynamic client registration' }),
  isMetadataDocument: Type.Boolean({ description: 'known by the URL of its Client ID Metadata Document (its client id)' }),
  applicationType: Type.Union([Type.Literal('web'), Type.Literal('native')]),
  jwks: Type.Optional(Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) }, { description: 'public keys for private_key_jwt' })),
  jwksUri: Type.Optional(Type.String({ description: 'where its public keys for private_key_jwt are published' })),
  dpopBoundAccessTokens: Type.Boolean({ description: 'every access token it gets is DPoP-bound' }),
  createdTime: Type.String(),
  updatedTime: Type.String()
})
export function applicationOut (a: Application): Static<typeof ApplicationSchema> {
  return {
    id: a.id,
    owner: a.owner,
    name: a.name,
    displayName: a.displayName,
    clientId: a.clientId,
    tokenEndpointAuthMethod: a.tokenEndpointAuthMethod,
    redirectUris: [...a.redirectUris],
    grantTypes: [...a.grantTypes],
    scopes: [...a.scopes],
    isDisabled: a.isDisabled,
    isDynamic: a.isDynamic,
    isMetadataDocument: a.isMetadataDocument,
    applicationType: a.applicationType,
    ...(a.jwks === null ? {} : { jwks: structuredClone(a.jwks) }),
    ...(a.jwksUri === null ? {} : { jwksUri: a.jwksUri }),
    dpopBoundAccessTokens: a.dpopBoundAccessTokens,
    createdTime: a.createdTime,
    updatedTime: a.updatedTime
  }
}
