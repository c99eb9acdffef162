import { Type, type Static } from '@sinclair/typebox'
import type { Application } from '../storage/models.js'
import { isAlias, parseScope } from '../scopes.js'
import { grantableScopes } from '../auth/policy.js'
import { isLoopbackHost } from './redirect-uri.js'

/** RFC 7591 §2 client metadata (the fields this service keeps or checks; others are ignored). */
export const ClientMetadataSchema = Type.Object({
  redirect_uris: Type.Optional(Type.Array(Type.String({ maxLength: 2048 }), { maxItems: 20 })),
  token_endpoint_auth_method: Type.Optional(Type.String({ maxLength: 64 })),
  grant_types: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 10 })),
  response_types: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 10 })),
  client_name: Type.Optional(Type.String({ maxLength: 200 })),
  client_uri: Type.Optional(Type.String({ maxLength: 2048 })),
  logo_uri: Type.Optional(Type.String({ maxLength: 2048 })),
  scope: Type.Optional(Type.String({ maxLength: 4096 })),
  contacts: Type.Optional(Type.Array(Type.String({ maxLength: 320 }), { maxItems: 20 })),
  software_id: Type.Optional(Type.String({ maxLength: 256 })),
  software_version: Type.Optional(Type.String({ maxLength: 256 })),
  application_type: Type.Optional(Type.String({ maxLength: 32 })),
  /** RFC 7592 update: must repeat the client's id. */
  client_id: Type.Optional(Type.String({ maxLength: 256 })),
  client_secret: Type.Optional(Type.String({ maxLength: 512 }))
}, { additionalProperties: true })
export type ClientMetadata = Static<typeof ClientMetadataSchema>

export const AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const
export type AuthMethod = typeof AUTH_METHODS[number]
/** Dynamically registered clients get these and nothing else (never client_credentials). */
export const DYNAMIC_GRANT_TYPES = ['authorization_code', 'refresh_token'] as const

export class RegistrationError extends Error {
  readonly code: 'invalid_redirect_uri' | 'invalid_client_metadata'
  constructor (code: 'invalid_redirect_uri' | 'invalid_client_metadata', description: string) {
    super(description)
    this.code = code
  }
}

/** https anywhere, http only on a loopback host (RFC 8252 §7.3); no fragment, no credentials. */
export function checkRedirectUri (value: string): void {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new RegistrationError('invalid_redirect_uri', `redirect URI "${value}" is not an absolute URL`)
  }
  if (value.includes('#')) throw new RegistrationError('invalid_redirect_uri', `redirect URI "${value}" must not contain a fragment`)
  if (url.username !== '' || url.password !== '') throw new RegistrationError('invalid_redirect_uri', `redirect URI "${value}" must not contain credentials`)
  if (url.protocol === 'https:') return
  if (url.protocol === 'http:') {
    if (isLoopbackHost(url.hostname)) return
    throw new RegistrationError('invalid_redirect_uri', `redirect URI "${value}" must use https (http is only allowed on loopback hosts)`)
  }
  throw new RegistrationError('invalid_redirect_uri', `redirect URI "${value}" must use https, or http on a loopback host`)
}

export interface CheckedMetadata {
  redirectUris: string[]
  authMethod: AuthMethod
  grantTypes: string[]
  clientName: string | undefined
  /** RFC 7591 / OpenID Registration `application_type`: `web` unless the client says `native`. */
  applicationType: 'web' | 'native'
  /** What the client may be granted besides the OIDC scopes: tool scopes and aliases. */
  scopes: string[]
}

/**
 * Validates registration metadata. Scopes: the known tool scopes and aliases the client names,
 * or every scope (`admin`) when it names none — the consent page is where a person narrows them.
 */
export function checkMetadata (metadata: ClientMetadata, known: ReadonlySet<string>): CheckedMetadata {
  const redirectUris = metadata.redirect_uris ?? []
  if (redirectUris.length === 0) throw new RegistrationError('invalid_redirect_uri', 'redirect_uris is required and must hold at least one URI')
  for (const uri of redirectUris) checkRedirectUri(uri)

  const authMethod = (metadata.token_endpoint_auth_method ?? 'client_secret_basic') as AuthMethod
  if (!(AUTH_METHODS as readonly string[]).includes(authMethod)) {
    throw new RegistrationError('invalid_client_metadata', `token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')}`)
  }
  for (const grant of metadata.grant_types ?? []) {
    if (!(DYNAMIC_GRANT_TYPES as readonly string[]).includes(grant)) {
      throw new RegistrationError('invalid_client_metadata', `grant type "${grant}" is not available to dynamically registered clients (only ${DYNAMIC_GRANT_TYPES.join(', ')})`)
    }
  }
  for (const type of metadata.response_types ?? []) {
    if (type !== 'code') throw new RegistrationError('invalid_client_metadata', 'response_types may only hold "code"')
  }
  const applicationType = metadata.application_type ?? 'web'
  if (applicationType !== 'web' && applicationType !== 'native') {
    throw new RegistrationError('invalid_client_metadata', 'application_type must be "web" or "native"')
  }
  const named = parseScope(metadata.scope).filter(s => isAlias(s) || known.has(s))
  const clientName = metadata.client_name?.trim()
  return {
    redirectUris: [...new Set(redirectUris)],
    authMethod,
    grantTypes: [...DYNAMIC_GRANT_TYPES],
    clientName: clientName === undefined || clientName === '' ? undefined : clientName,
    applicationType,
    scopes: named.length > 0 ? named : ['admin']
  }
}

/** The client's registered metadata, as RFC 7591 §3.2.1 / RFC 7592 §3 answer it. */
export function clientInformation (client: Application, known: ReadonlySet<string>, registrationClientUri: string, registrationAccessToken: string) {
  return {
    client_id: client.clientId,
    client_id_issued_at: Math.floor(Date.parse(client.createdTime) / 1000),
    client_name: client.displayName,
    redirect_uris: client.redirectUris,
    grant_types: client.grantTypes,
    response_types: ['code'],
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    application_type: client.applicationType,
    // A registered client only ever runs user flows.
    scope: grantableScopes(client, known, 'user').join(' '),
    registration_client_uri: registrationClientUri,
    registration_access_token: registrationAccessToken
  }
}
