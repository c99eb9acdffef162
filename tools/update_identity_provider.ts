import { Type, defineTool, assertChangeable, DisplayName, Id, IdentityProviderSchema, IssuerUrl, ProviderJwks, ProviderJwksUri, LinkBy, ToolError, checkOneKeySource, checkProviderKeys, identityProviderOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'update_identity_provider',
  title: 'Update an identity provider',
  description: 'Changes a trusted identity provider; fields left out stay as they are. Giving `jwks` replaces the key URL and giving `jwksUri` replaces the inline keys. Disabling it (`isDisabled: true`) or changing its issuer revokes every token issued through it, on every instance.',
  scopes: ['provider:write'],
  input: Type.Object({
    id: Id('identity provider'),
    displayName: Type.Optional(DisplayName),
    issuer: Type.Optional(IssuerUrl('the provider\'s issuer, as its assertions\' iss')),
    jwksUri: Type.Optional(ProviderJwksUri),
    jwks: Type.Optional(ProviderJwks),
    linkBy: Type.Optional(LinkBy),
    provisionUsers: Type.Optional(Type.Boolean()),
    isDisabled: Type.Optional(Type.Boolean())
  }, { additionalProperties: false }),
  output: Type.Object({ identityProvider: IdentityProviderSchema }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
  async handler ({ id, ...patch }, { principal, store, config }) {
    assertChangeable(principal, 'identity provider', id)
    if (patch.jwks !== undefined && patch.jwksUri !== undefined) checkOneKeySource(patch.jwks, patch.jwksUri)
    await checkProviderKeys(patch, config.CLIENT_ID_METADATA_INSECURE)
    if (Object.keys(patch).length === 0) {
      throw new ToolError('invalid', 'nothing to change: give at least one field besides id')
    }
    const keys = patch.jwks !== undefined ? { jwks: patch.jwks, jwksUri: null } : patch.jwksUri !== undefined ? { jwksUri: patch.jwksUri, jwks: null } : {}
    return { identityProvider: identityProviderOut(await store.identityProviders.update(id, { ...patch, ...keys })) }
  }
})
