import { Type, ToolError, defineTool, assertChangeable, assertMayChangeApplication, changesApplicationAccess, forbidden, isBootstrapApplication, AppScope, ApplicationSchema, ApplicationType, DisplayName, GrantType, Id, Jwks, JwksUri, RedirectUri, TokenEndpointAuthMethod, applicationOut, checkApplicationScopes, checkClientKeys, checkRedirectUris } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'update_application',
  title: 'Update an application',
  description: 'Changes an application; fields left out stay as they are, lists are replaced as a whole. The name, client id and secret cannot change here (rotate_application_secret makes a new secret). A disabled application cannot get tokens; the bootstrap application cannot be disabled. Switching to private_key_jwt or none drops its secret; switching from private_key_jwt drops its keys, and a secret method then needs rotate_application_secret for a secret. `jwks` / `jwksUri` null removes them. Changing scopes, grant types, redirect URIs, the authentication method, keys, application type or DPoP binding needs you to hold every scope the application may be granted (after the change).',
  scopes: ['application:write'],
  input: Type.Object({
    id: Id('application'),
    displayName: Type.Optional(DisplayName),
    redirectUris: Type.Optional(Type.Array(RedirectUri, { maxItems: 20 })),
    grantTypes: Type.Optional(Type.Array(GrantType, { minItems: 1, maxItems: 3, uniqueItems: true })),
    scopes: Type.Optional(Type.Array(AppScope, { maxItems: 100, uniqueItems: true })),
    isDisabled: Type.Optional(Type.Boolean()),
    tokenEndpointAuthMethod: Type.Optional(TokenEndpointAuthMethod),
    jwks: Type.Optional(Type.Union([Jwks, Type.Null()])),
    jwksUri: Type.Optional(Type.Union([JwksUri, Type.Null()])),
    applicationType: Type.Optional(ApplicationType),
    dpopBoundAccessTokens: Type.Optional(Type.Boolean())
  }, { additionalProperties: false }),
  output: Type.Object({ application: ApplicationSchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler ({ id, ...patch }, { principal, store, knownScopes, config }) {
    assertChangeable(principal, 'application', id)
    if (patch.isDisabled === true && isBootstrapApplication(id)) throw forbidden('the bootstrap application cannot be disabled')
    if (patch.redirectUris !== undefined) checkRedirectUris(patch.redirectUris)
    if (patch.scopes !== undefined) checkApplicationScopes(patch.scopes, knownScopes)
    if (changesApplicationAccess(patch)) {
      const current = await store.applications.get(id)
      // New ways in (a grant type, a redirect URI, a key) or wider scopes are handed out only by
      // someone who holds all it may be granted.
      assertMayChangeApplication(principal, { scopes: patch.scopes ?? current.scopes }, knownScopes)
      // The grant needs somewhere to send the code.
      const grantTypes = patch.grantTypes ?? current.grantTypes
      const redirectUris = patch.redirectUris ?? current.redirectUris
      if (grantTypes.includes('authorization_code') && redirectUris.length === 0) {
        throw new ToolError('invalid', 'redirectUris: the authorization_code grant needs at least one redirect URI')
      }
      const tokenEndpointAuthMethod = patch.tokenEndpointAuthMethod ?? current.tokenEndpointAuthMethod
      // Keys mean something only for private_key_jwt: leaving it drops them.
      if (tokenEndpointAuthMethod !== 'private_key_jwt' && current.tokenEndpointAuthMethod === 'private_key_jwt') {
        patch.jwks ??= null
        patch.jwksUri ??= null
      }
      await checkClientKeys({
        tokenEndpointAuthMethod,
        jwks: patch.jwks !== undefined ? patch.jwks : current.jwks,
        jwksUri: patch.jwksUri !== undefined ? patch.jwksUri : current.jwksUri
      }, config.CLIENT_ID_METADATA_INSECURE)
    }
    return { application: applicationOut(await store.applications.update(id, patch)) }
  }
})
