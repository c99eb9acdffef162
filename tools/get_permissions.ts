import { Type, defineTool, listOwner, ListArguments, PageOf, PermissionSchema, pageOut, permissionOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_permissions',
  title: 'List permissions',
  description: 'Lists permissions (id "<organization>/<name>"), sorted by id, a page at a time. `owner` narrows to one organization and `filter` matches part of the name or display name. Administrators see the permissions of the organizations they manage; plain users see none.',
  scopes: ['permission:read'],
  input: Type.Object({ ...ListArguments }, { additionalProperties: false }),
  output: PageOf(PermissionSchema),
  annotations: { readOnlyHint: true, idempotentHint: true },
  cacheable: true,
  async handler (input, { principal, store }) {
    const scope = listOwner(principal, input.owner)
    if (scope === null) return { items: [] }
    return pageOut(await store.permissions.list({ ...scope, filter: input.filter, limit: input.limit, cursor: input.cursor }), permissionOut)
  }
})
