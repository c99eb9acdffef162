import { Type, defineTool, assertVisible, Id, IdentityProviderSchema, identityProviderOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_identity_provider',
  title: 'Get an identity provider',
  description: 'Gets one trusted identity provider by id ("<organization>/<name>").',
  scopes: ['provider:read'],
  input: Type.Object({ id: Id('identity provider') }, { additionalProperties: false }),
  output: Type.Object({ identityProvider: IdentityProviderSchema }),
  annotations: { readOnlyHint: true, idempotentHint: true },
  cacheable: true,
  async handler (input, { principal, store }) {
    assertVisible(principal, 'identity provider', input.id)
    return { identityProvider: identityProviderOut(await store.identityProviders.get(input.id)) }
  }
})
