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
  /** `none` for public clients (no secret), else `client_secret_basic` / `client_secret_post`. */
  tokenEndpointAuthMethod: string
  redirectUris: string[]
  grantTypes: string[]
  scopes: string[]
  isDisabled: boolean
  isDynamic: boolean
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
    createdTime: a.createdTime,
    updatedTime: a.updatedTime
  }
}
