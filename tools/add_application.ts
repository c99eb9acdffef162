import { Type, ToolError, defineTool, assertCanCreate, assertMayChangeApplication, AppScope, ApplicationSchema, DisplayName, GrantType, RedirectUri, Slug, applicationOut, checkApplicationScopes, checkRedirectUris } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'add_application',
  title: 'Add an application',
  description: 'Creates an application (an OAuth client) in an organization (`owner`); its name is unique across all organizations and its id becomes "<owner>/<name>". The client id is generated; the client secret is returned here once and never again — store it now. `scopes` is what the application may be granted (tool scopes like "user:read", the aliases read, write, admin, or openid, profile, email); `grantTypes` defaults to client_credentials; `authorization_code` needs at least one redirect URI (https, or http on loopback). You may only create an application whose scopes you hold yourself.',
  scopes: ['application:write'],
  input: Type.Object({
    owner: Slug('the organization the application belongs to'),
    name: Slug('application name, unique across organizations'),
    displayName: Type.Optional(DisplayName),
    redirectUris: Type.Optional(Type.Array(RedirectUri, { maxItems: 20 })),
    grantTypes: Type.Optional(Type.Array(GrantType, { minItems: 1, maxItems: 3, uniqueItems: true, description: 'default ["client_credentials"]' })),
    scopes: Type.Optional(Type.Array(AppScope, { maxItems: 100, uniqueItems: true, description: 'what it may be granted (default none)' })),
    isDisabled: Type.Optional(Type.Boolean({ description: 'a disabled application cannot get tokens (default false)' }))
  }, { additionalProperties: false }),
  output: Type.Object({
    application: ApplicationSchema,
    clientSecret: Type.String({ description: 'shown only now' })
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async handler (input, { principal, store, knownScopes }) {
    assertCanCreate(principal, 'application', input.owner)
    checkRedirectUris(input.redirectUris ?? [])
    checkApplicationScopes(input.scopes ?? [], knownScopes)
    assertMayChangeApplication(principal, { scopes: input.scopes ?? [] }, knownScopes)
    if (input.grantTypes?.includes('authorization_code') === true && (input.redirectUris ?? []).length === 0) {
      throw new ToolError('invalid', 'redirectUris: the authorization_code grant needs at least one redirect URI')
    }
    const { application, clientSecret } = await store.applications.create({ ...input, tokenEndpointAuthMethod: 'client_secret_basic' })
    if (clientSecret === undefined) throw new Error('a confidential client was created without a secret')
    return { application: applicationOut(application), clientSecret }
  }
})
