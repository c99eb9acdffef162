import { Type, defineTool, assertDeletable, Id, IdentityProviderSchema, identityProviderOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'delete_identity_provider',
  title: 'Delete an identity provider',
  description: 'Stops trusting an identity provider and revokes every token issued through it, on every instance. The users it provisioned stay.',
  scopes: ['provider:write'],
  input: Type.Object({ id: Id('identity provider') }, { additionalProperties: false }),
  output: Type.Object({ identityProvider: IdentityProviderSchema }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  async handler (input, { principal, store }) {
    assertDeletable(principal, 'identity provider', input.id)
    return { identityProvider: identityProviderOut(await store.identityProviders.delete(input.id)) }
  }
})
