import { Type, defineTool, listOwner, ListArguments, PageOf, ConnectionSchema, pageOut, connectionOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_connections',
  title: 'List connections',
  description: 'Lists connections (which MCP servers elsewhere an organization\'s users may reach through this service), sorted by id, a page at a time. `owner` narrows to one organization and `filter` matches part of the name, display name, audience or resource. Administrators see their organizations\' connections; plain users see none.',
  scopes: ['connection:read'],
  input: Type.Object({ ...ListArguments }, { additionalProperties: false }),
  output: PageOf(ConnectionSchema),
  annotations: { readOnlyHint: true, idempotentHint: true },
  cacheable: true,
  async handler (input, { principal, store }) {
    const scope = listOwner(principal, input.owner)
    if (scope === null) return { items: [] }
    return pageOut(await store.connections.list({ ...scope, filter: input.filter, limit: input.limit, cursor: input.cursor }), connectionOut)
  }
})
