import { Type, ToolError, defineTool, assertChangeable, assertMayChangeApplication, forbidden, isBootstrapApplication, AppScope, ApplicationSchema, DisplayName, GrantType, Id, RedirectUri, applicationOut, checkApplicationScopes, checkRedirectUris } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'update_application',
  title: 'Update an application',
  description: 'Changes an application; fields left out stay as they are, lists are replaced as a whole. The name, client id and secret cannot change here (rotate_application_secret makes a new secret). A disabled application cannot get tokens; the bootstrap application cannot be disabled. Changing scopes, grant types or redirect URIs needs you to hold every scope the application may be granted (after the change).',
  scopes: ['application:write'],
  input: Type.Object({
    id: Id('application'),
    displayName: Type.Optional(DisplayName),
    redirectUris: Type.Optional(Type.Array(RedirectUri, { maxItems: 20 })),
    grantTypes: Type.Optional(Type.Array(GrantType, { minItems: 1, maxItems: 3, uniqueItems: true })),
    scopes: Type.Optional(Type.Array(AppScope, { maxItems: 100, uniqueItems: true })),
    isDisabled: Type.Optional(Type.Boolean())
  }, { additionalProperties: false }),
  output: Type.Object({ application: ApplicationSchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler ({ id, ...patch }, { principal, store, knownScopes }) {
    assertChangeable(principal, 'application', id)
    if (patch.isDisabled === true && isBootstrapApplication(id)) throw forbidden('the bootstrap application cannot be disabled')
    if (patch.redirectUris !== undefined) checkRedirectUris(patch.redirectUris)
    if (patch.scopes !== undefined) checkApplicationScopes(patch.scopes, knownScopes)
    if (patch.scopes !== undefined || patch.grantTypes !== undefined || patch.redirectUris !== undefined) {
      const current = await store.applications.get(id)
      // New ways in (a grant type, a redirect URI) or wider scopes are handed out only by
      // someone who holds all it may be granted.
      assertMayChangeApplication(principal, { scopes: patch.scopes ?? current.scopes }, knownScopes)
      // The grant needs somewhere to send the code.
      const grantTypes = patch.grantTypes ?? current.grantTypes
      const redirectUris = patch.redirectUris ?? current.redirectUris
      if (grantTypes.includes('authorization_code') && redirectUris.length === 0) {
        throw new ToolError('invalid', 'redirectUris: the authorization_code grant needs at least one redirect URI')
      }
    }
    return { application: applicationOut(await store.applications.update(id, patch)) }
  }
})
