import { Type, type Static } from '@sinclair/typebox'
import type { Application } from '../storage/models.js'
import { OIDC_SCOPES, sortScopes } from '../scopes.js'
import { grantableScopes } from '../auth/policy.js'
import { JWT_ALGORITHM } from '../jwt.js'
import { ASSERTION_ALGORITHMS } from './client-assertion.js'
import { DPOP_ALGORITHMS } from '../auth/dpop.js'
import { ID_JAG_PROFILE, JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT } from './id-jag.js'

/** Where each OAuth endpoint lives under `{base}` (Casdoor-compatible paths, DESIGN.md). */
export const OAUTH_PATHS = {
  authorization: '/login/oauth/authorize',
  token: '/api/login/oauth/access_token',
  registration: '/api/oauth/register',
  introspection: '/api/login/oauth/introspect',
  revocation: '/api/login/oauth/revoke',
  userinfo: '/api/userinfo',
  jwks: '/.well-known/jwks',
  mcp: '/api/mcp'
} as const

export const GRANT_TYPES = ['authorization_code', 'client_credentials', 'refresh_token', JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT] as const
export const TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const

/** Every scope a document advertises: the OIDC ones and every scope a tool declares. */
export function advertisedScopes (toolScopes: ReadonlySet<string>): string[] {
  return sortScopes([...OIDC_SCOPES, ...toolScopes])
}

/**
 * What one application's documents advertise: what it may be granted (aliases never appear),
 * with the OIDC scopes when it may run a user flow.
 */
export function applicationScopes (app: Application, toolScopes: ReadonlySet<string>): string[] {
  return grantableScopes(app, toolScopes, app.grantTypes.includes('authorization_code') ? 'user' : 'self')
}

export const ProtectedResourceMetadataSchema = Type.Object({
  resource: Type.String(),
  authorization_servers: Type.Array(Type.String()),
  bearer_methods_supported: Type.Array(Type.String()),
  scopes_supported: Type.Array(Type.String()),
  resource_name: Type.String(),
  resource_documentation: Type.String(),
  resource_signing_alg_values_supported: Type.Array(Type.String()),
  dpop_bound_access_tokens_required: Type.Boolean(),
  dpop_signing_alg_values_supported: Type.Array(Type.String())
})
export type ProtectedResourceMetadata = Static<typeof ProtectedResourceMetadataSchema>

/** RFC 9728 protected resource metadata for `resource` (`{base}` or `{base}/api/mcp`). */
export function protectedResourceMetadata (base: string, resource: string, scopes: string[]): ProtectedResourceMetadata {
  return {
    resource,
    authorization_servers: [base],
    bearer_methods_supported: ['header'],
    scopes_supported: scopes,
    resource_name: 'iam-mcp',
    resource_documentation: `${base}/docs`,
    resource_signing_alg_values_supported: [JWT_ALGORITHM],
    // RFC 9449 §5.1 / RFC 9728: bearer tokens keep working; DPoP-bound ones are accepted too.
    dpop_bound_access_tokens_required: false,
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS]
  }
}

export const AuthorizationServerMetadataSchema = Type.Object({
  issuer: Type.String(),
  authorization_endpoint: Type.String(),
  token_endpoint: Type.String(),
  registration_endpoint: Type.Optional(Type.String()),
  introspection_endpoint: Type.String(),
  revocation_endpoint: Type.String(),
  userinfo_endpoint: Type.String(),
  jwks_uri: Type.String(),
  scopes_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
  response_modes_supported: Type.Array(Type.String()),
  grant_types_supported: Type.Array(Type.String()),
  authorization_grant_profiles_supported: Type.Array(Type.String()),
  code_challenge_methods_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  token_endpoint_auth_signing_alg_values_supported: Type.Array(Type.String()),
  introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
  introspection_endpoint_auth_signing_alg_values_supported: Type.Array(Type.String()),
  revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
  revocation_endpoint_auth_signing_alg_values_supported: Type.Array(Type.String()),
  authorization_response_iss_parameter_supported: Type.Boolean(),
  client_id_metadata_document_supported: Type.Boolean(),
  subject_types_supported: Type.Array(Type.String()),
  id_token_signing_alg_values_supported: Type.Array(Type.String()),
  claims_supported: Type.Array(Type.String()),
  dpop_signing_alg_values_supported: Type.Array(Type.String())
})
export type AuthorizationServerMetadata = Static<typeof AuthorizationServerMetadataSchema>

/**
 * RFC 8414 authorization server metadata, which is also the OpenID Provider configuration:
 * one issuer, `{base}`, whichever document names it.
 */
export function authorizationServerMetadata (base: string, scopes: string[], registrationOpen = true, metadataDocuments = true): AuthorizationServerMetadata {
  return {
    issuer: base,
    authorization_endpoint: base + OAUTH_PATHS.authorization,
    token_endpoint: base + OAUTH_PATHS.token,
    // A closed registration is not advertised: a client must not try it (RFC 8414 §2).
    ...(registrationOpen ? { registration_endpoint: base + OAUTH_PATHS.registration } : {}),
    introspection_endpoint: base + OAUTH_PATHS.introspection,
    revocation_endpoint: base + OAUTH_PATHS.revocation,
    userinfo_endpoint: base + OAUTH_PATHS.userinfo,
    jwks_uri: base + OAUTH_PATHS.jwks,
    scopes_supported: scopes,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [...GRANT_TYPES],
    // The JWT bearer grant takes identity assertion grants (ID-JAGs) from trusted providers.
    authorization_grant_profiles_supported: [ID_JAG_PROFILE],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: [...TOKEN_ENDPOINT_AUTH_METHODS],
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    introspection_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    revocation_endpoint_auth_methods_supported: [...TOKEN_ENDPOINT_AUTH_METHODS],
    revocation_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    authorization_response_iss_parameter_supported: true,
    // A client id may be the https URL of the client's metadata document (CLIENT_ID_METADATA).
    client_id_metadata_document_supported: metadataDocuments,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [JWT_ALGORITHM],
    claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'azp', 'at_hash', 'sid', 'name', 'preferred_username', 'email'],
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS]
  }
}

export const JwksSchema = Type.Object({
  keys: Type.Array(Type.Object({
    kty: Type.String(),
    kid: Type.String(),
    use: Type.String(),
    alg: Type.String(),
    n: Type.String(),
    e: Type.String()
  }))
})
