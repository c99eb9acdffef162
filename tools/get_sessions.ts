import { Type, defineTool, subjectScope, PageOf, PagingArguments, SLUG_PATTERN, SessionSchema, pageOut, sessionOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_sessions',
  title: 'List login sessions',
  description: 'Lists active login sessions (unexpired, not ended), a page at a time. Narrow with `owner` (organization) or `user` (a user id). A session is named by a handle, never by its cookie; end one with end_session. A global admin sees all, an organization admin its organization\'s, a plain user its own.',
  scopes: ['session:read'],
  input: Type.Object({
    owner: Type.Optional(Type.String({ pattern: SLUG_PATTERN, maxLength: 64, description: 'only sessions of users in this organization' })),
    user: Type.Optional(Type.String({ maxLength: 129, description: 'only sessions of this user id' })),
    ...PagingArguments
  }, { additionalProperties: false }),
  output: PageOf(SessionSchema),
  annotations: { readOnlyHint: true, idempotentHint: true },
  async handler (input, { principal, store }) {
    const scope = subjectScope(principal, input.owner)
    if (scope === null) return { items: [] }
    if (scope.subject !== undefined && input.user !== undefined && input.user !== scope.subject) return { items: [] }
    const page = await store.sessions.list({ owner: scope.owner, userId: scope.subject ?? input.user, limit: input.limit, cursor: input.cursor })
    return pageOut(page, sessionOut)
  }
})
