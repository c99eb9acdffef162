import { Type, ToolError, defineTool, assertCanCreate, assertMayChangeApplication, AppScope, ApplicationSchema, ApplicationType, DisplayName, GrantType, Jwks, JwksUri, RedirectUri, Slug, TokenEndpointAuthMethod, applicationOut, checkApplicationScopes, checkClientKeys, checkRedirectUris } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'add_application',
  title: 'Add an application',
  description: 'Creates an application (an OAuth client) in an organization (`owner`); its name is unique across all organizations and its id becomes "<owner>/<name>". The client id is generated. `tokenEndpointAuthMethod` says how it proves itself: client_secret_basic (default) or client_secret_post get a client secret, returned here once and never again — store it now; private_key_jwt gets no secret and needs its public keys, inline (`jwks`) or at an https URL (`jwksUri`); none is a public client (PKCE). `scopes` is what the application may be granted (tool scopes like "user:read", the aliases read, write, admin, or openid, profile, email); `grantTypes` defaults to client_credentials; `authorization_code` needs at least one redirect URI (https, or http on loopback, which then accepts any port). `dpopBoundAccessTokens` makes every access token it gets DPoP-bound. You may only create an application whose scopes you hold yourself.',
  scopes: ['application:write'],
  input: Type.Object({
    owner: Slug('the organization the application belongs to'),
    name: Slug('application name, unique across organizations'),
    displayName: Type.Optional(DisplayName),
    redirectUris: Type.Optional(Type.Array(RedirectUri, { maxItems: 20 })),
    grantTypes: Type.Optional(Type.Array(GrantType, { minItems: 1, maxItems: 3, uniqueItems: true, description: 'default ["client_credentials"]' })),
    scopes: Type.Optional(Type.Array(AppScope, { maxItems: 100, uniqueItems: true, description: 'what it may be granted (default none)' })),
    isDisabled: Type.Optional(Type.Boolean({ description: 'a disabled application cannot get tokens (default false)' })),
    tokenEndpointAuthMethod: Type.Optional(TokenEndpointAuthMethod),
    jwks: Type.Optional(Jwks),
    jwksUri: Type.Optional(JwksUri),
    applicationType: Type.Optional(ApplicationType),
    dpopBoundAccessTokens: Type.Optional(Type.Boolean({ description: 'every access token it gets is DPoP-bound (default false)' }))
  }, { additionalProperties: false }),
  output: Type.Object({
    application: ApplicationSchema,
    clientSecret: Type.Optional(Type.String({ description: 'shown only now; only for client_secret_basic and client_secret_post' }))
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async handler (input, { principal, store, knownScopes, config }) {
    assertCanCreate(principal, 'application', input.owner)
    checkRedirectUris(input.redirectUris ?? [])
    checkApplicationScopes(input.scopes ?? [], knownScopes)
    assertMayChangeApplication(principal, { scopes: input.scopes ?? [] }, knownScopes)
    if (input.grantTypes?.includes('authorization_code') === true && (input.redirectUris ?? []).length === 0) {
      throw new ToolError('invalid', 'redirectUris: the authorization_code grant needs at least one redirect URI')
    }
    const tokenEndpointAuthMethod = input.tokenEndpointAuthMethod ?? 'client_secret_basic'
    await checkClientKeys({ tokenEndpointAuthMethod, jwks: input.jwks ?? null, jwksUri: input.jwksUri ?? null }, config.CLIENT_ID_METADATA_INSECURE)
    const { application, clientSecret } = await store.applications.create({ ...input, tokenEndpointAuthMethod })
    const hasSecret = tokenEndpointAuthMethod === 'client_secret_basic' || tokenEndpointAuthMethod === 'client_secret_post'
    if (hasSecret && clientSecret === undefined) throw new Error('a confidential client was created without a secret')
    return { application: applicationOut(application), ...(hasSecret ? { clientSecret } : {}) }
  }
})
