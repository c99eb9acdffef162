import { Type, defineTool, findInPages, notFound, subjectScope, SessionSchema, sessionHandle, sessionOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'end_session',
  title: 'End a login session',
  description: 'Ends a login session by its handle (the `id` get_sessions shows): its cookie stops working and every token issued through it is revoked, on every instance within a second.',
  scopes: ['session:write'],
  input: Type.Object({ id: Type.String({ pattern: '^ses_[A-Za-z0-9_-]{1,64}$', description: 'the session handle from get_sessions ("ses_…")' }) }, { additionalProperties: false }),
  output: Type.Object({
    session: SessionSchema,
    revokedTokens: Type.Integer({ description: 'how many tokens issued through the session were revoked' })
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  async handler (input, { principal, store }) {
    const scope = subjectScope(principal, undefined)
    // Handles are digests: look among the active sessions the caller may see.
    const found = scope === null
      ? undefined
      : await findInPages(
        cursor => store.sessions.list({ owner: scope.owner, userId: scope.subject, limit: 500, cursor }),
        s => sessionHandle(s.id) === input.id)
    if (found === undefined) throw notFound('session', input.id)
    // Ended together with the tokens issued through it; a concurrent end leaves nothing to revoke.
    const ended = await store.sessions.end(found.id)
    return { session: sessionOut(found), revokedTokens: ended?.revokedTokens ?? 0 }
  }
})
