import { Type, defineTool, listOwner, ApplicationSchema, ListArguments, PageOf, applicationOut, pageOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_applications',
  title: 'List applications',
  description: 'Lists applications (OAuth clients; id "<organization>/<name>"), sorted by id, a page at a time. `owner` narrows to one organization and `filter` matches part of the name or display name. A global admin sees all, an organization admin (or an application acting for itself) its organization\'s; plain users see none. Client secrets are never shown.',
  scopes: ['application:read'],
  input: Type.Object({ ...ListArguments }, { additionalProperties: false }),
  output: PageOf(ApplicationSchema),
  annotations: { readOnlyHint: true, idempotentHint: true },
  cacheable: true,
  async handler (input, { principal, store }) {
    const scope = listOwner(principal, input.owner)
    if (scope === null) return { items: [] }
    return pageOut(await store.applications.list({ ...scope, filter: input.filter, limit: input.limit, cursor: input.cursor }), applicationOut)
  }
})
