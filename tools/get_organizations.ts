import { Type, defineTool, reachOf, OrganizationSchema, PageOf, PagingArguments, organizationOut, pageOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_organizations',
  title: 'List organizations',
  description: 'Lists organizations (id "admin/<name>"), sorted by id, a page at a time. A global admin sees all; anyone else sees only its own organization. Use `filter` to match part of a name or display name, and pass `nextCursor` back as `cursor` for the next page.',
  scopes: ['organization:read'],
  input: Type.Object({
    owner: Type.Optional(Type.Literal('admin', { description: 'organizations are all owned by "admin"; accepted for symmetry with the other list tools' })),
    filter: Type.Optional(Type.String({ maxLength: 100, description: 'case-insensitive substring of the name or display name' })),
    ...PagingArguments
  }, { additionalProperties: false }),
  output: PageOf(OrganizationSchema),
  annotations: { readOnlyHint: true, idempotentHint: true },
  cacheable: true,
  async handler (input, { principal, store }) {
    const reach = reachOf(principal)
    if (reach.level === 'all') {
      return pageOut(await store.organizations.list({ filter: input.filter, limit: input.limit, cursor: input.cursor }), organizationOut)
    }
    // One organization at most: the whole list fits on the first page.
    if (input.cursor !== undefined) return { items: [] }
    const own = await store.organizations.get(reach.organization)
    const needle = (input.filter ?? '').toLowerCase()
    const matches = own.name.toLowerCase().includes(needle) || own.displayName.toLowerCase().includes(needle)
    return { items: matches ? [organizationOut(own)] : [] }
  }
})
