import { Type, defineTool, subjectScope, PageOf, PagingArguments, SLUG_PATTERN, TokenSchema, pageOut, tokenOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_tokens',
  title: 'List tokens',
  description: 'Lists issued access and refresh tokens (their metadata, never the token strings), sorted by id, a page at a time; by default only unexpired ones. Narrow with `owner` (organization of the subject), `subject` (a user or application id) or `clientId`. A global admin sees all, an organization admin its organization\'s, a plain user its own. Revoke one with revoke_token.',
  scopes: ['token:read'],
  input: Type.Object({
    owner: Type.Optional(Type.String({ pattern: SLUG_PATTERN, maxLength: 64, description: 'only tokens of subjects in this organization' })),
    subject: Type.Optional(Type.String({ maxLength: 129, description: 'only tokens acting for this user or application id' })),
    clientId: Type.Optional(Type.String({ maxLength: 200, description: 'only tokens issued to this client' })),
    includeExpired: Type.Optional(Type.Boolean({ description: 'also list expired tokens (default false)' })),
    ...PagingArguments
  }, { additionalProperties: false }),
  output: PageOf(TokenSchema),
  annotations: { readOnlyHint: true, idempotentHint: true },
  async handler (input, { principal, store }) {
    const scope = subjectScope(principal, input.owner)
    if (scope === null) return { items: [] }
    if (scope.subject !== undefined && input.subject !== undefined && input.subject !== scope.subject) return { items: [] }
    const page = await store.tokens.list({
      owner: scope.owner,
      subject: scope.subject ?? input.subject,
      clientId: input.clientId,
      includeExpired: input.includeExpired,
      limit: input.limit,
      cursor: input.cursor
    })
    const now = Date.now()
    return pageOut(page, t => tokenOut(t, now))
  }
})
