import { Type, defineTool, assertCanCreate, DisplayName, IdentityProviderSchema, IssuerUrl, ProviderJwks, ProviderJwksUri, LinkBy, Slug, checkOneKeySource, checkProviderKeys, identityProviderOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'add_identity_provider',
  title: 'Trust an identity provider',
  description: 'Makes an enterprise identity provider trusted by an organization (`owner`): its identity assertions (ID-JAGs, signed by the keys in `jwks` or at `jwksUri`, with `iss` equal to `issuer`) then buy access tokens for the organization\'s users at this service\'s token endpoint, without a consent page. `linkBy` says how an assertion finds the user ("email": the one user of the organization with that email; "subject": the user named like its sub); `provisionUsers` creates a missing user. Its id becomes "<owner>/<name>".',
  scopes: ['provider:write'],
  input: Type.Object({
    owner: Slug('the organization whose users the provider vouches for'),
    name: Slug('provider name, unique in its organization'),
    displayName: Type.Optional(DisplayName),
    issuer: IssuerUrl('the provider\'s issuer, as its assertions\' iss'),
    jwksUri: Type.Optional(ProviderJwksUri),
    jwks: Type.Optional(ProviderJwks),
    linkBy: Type.Optional(LinkBy),
    provisionUsers: Type.Optional(Type.Boolean({ description: 'create a user of the organization when none is linked (default false)' })),
    isDisabled: Type.Optional(Type.Boolean())
  }, { additionalProperties: false }),
  output: Type.Object({ identityProvider: IdentityProviderSchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async handler (input, { principal, store, config }) {
    assertCanCreate(principal, 'identity provider', input.owner)
    checkOneKeySource(input.jwks, input.jwksUri)
    await checkProviderKeys(input, config.CLIENT_ID_METADATA_INSECURE)
    return { identityProvider: identityProviderOut(await store.identityProviders.create(input)) }
  }
})
