import { Type, defineTool, listOwner, reachOf, ListArguments, PageOf, UserSchema, pageOut, userOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_users',
  title: 'List users',
  description: 'Lists users (id "<organization>/<name>"), sorted by id, a page at a time. `owner` narrows to one organization and `filter` matches part of the name, display name or e-mail. A global admin sees every organization, an organization admin its own, a plain user only itself. Passwords are never shown.',
  scopes: ['user:read'],
  input: Type.Object({
    ...ListArguments,
    filter: Type.Optional(Type.String({ maxLength: 100, description: 'case-insensitive substring of the name, display name or e-mail' }))
  }, { additionalProperties: false }),
  output: PageOf(UserSchema),
  annotations: { readOnlyHint: true, idempotentHint: true },
  cacheable: true,
  async handler (input, { principal, store }) {
    const reach = reachOf(principal)
    if (reach.level === 'self') {
      if (input.cursor !== undefined || (input.owner !== undefined && input.owner !== reach.organization)) return { items: [] }
      const self = await store.users.find(reach.userId)
      const needle = (input.filter ?? '').toLowerCase()
      const matches = self !== undefined && [self.name, self.displayName, self.email].some(v => v.toLowerCase().includes(needle))
      return { items: matches ? [userOut(self)] : [] }
    }
    const scope = listOwner(principal, input.owner)
    if (scope === null) return { items: [] }
    return pageOut(await store.users.list({ ...scope, filter: input.filter, limit: input.limit, cursor: input.cursor }), userOut)
  }
})
