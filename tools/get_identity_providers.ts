import { Type, defineTool, listOwner, ListArguments, PageOf, IdentityProviderSchema, pageOut, identityProviderOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_identity_providers',
  title: 'List identity providers',
  description: 'Lists the enterprise identity providers organizations trust (id "<organization>/<name>"), sorted by id, a page at a time. `owner` narrows to one organization and `filter` matches part of the name, display name or issuer. Administrators see their organizations\' providers; plain users see none.',
  scopes: ['provider:read'],
  input: Type.Object({ ...ListArguments }, { additionalProperties: false }),
  output: PageOf(IdentityProviderSchema),
  annotations: { readOnlyHint: true, idempotentHint: true },
  cacheable: true,
  async handler (input, { principal, store }) {
    const scope = listOwner(principal, input.owner)
    if (scope === null) return { items: [] }
    return pageOut(await store.identityProviders.list({ ...scope, filter: input.filter, limit: input.limit, cursor: input.cursor }), identityProviderOut)
  }
})
