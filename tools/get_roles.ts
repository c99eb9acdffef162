import { Type, defineTool, listOwner, ListArguments, PageOf, RoleSchema, pageOut, roleOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_roles',
  title: 'List roles',
  description: 'Lists roles (id "<organization>/<name>"), sorted by id, a page at a time. `owner` narrows to one organization and `filter` matches part of the name or display name. Administrators see the roles of the organizations they manage; plain users see none.',
  scopes: ['role:read'],
  input: Type.Object({ ...ListArguments }, { additionalProperties: false }),
  output: PageOf(RoleSchema),
  annotations: { readOnlyHint: true, idempotentHint: true },
  cacheable: true,
  async handler (input, { principal, store }) {
    const scope = listOwner(principal, input.owner)
    if (scope === null) return { items: [] }
    return pageOut(await store.roles.list({ ...scope, filter: input.filter, limit: input.limit, cursor: input.cursor }), roleOut)
  }
})
