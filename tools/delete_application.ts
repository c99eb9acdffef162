import { Type } from '@sinclair/typebox'
import { defineTool } from '../lib/tool.js'
import { assertDeletable } from '../lib/access.js'
import { ApplicationSchema, Id, applicationOut } from '../lib/tool-schemas.js'

export default defineTool({
  name: 'delete_application',
  title: 'Delete an application',
  description: 'Deletes an application; the tokens it issued are revoked and its client credentials stop working. The bootstrap application cannot be deleted.',
  scopes: ['application:write'],
  input: Type.Object({ id: Id('application') }, { additionalProperties: false }),
  output: Type.Object({ application: ApplicationSchema }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  async handler (input, { principal, store }) {
    assertDeletable(principal, 'application', input.id)
    const application = await store.applications.delete(input.id)
    await store.tokens.revokeBySubject(application.id)
    // Tokens users got through this client: page through them by client id.
    let cursor: string | undefined
    do {
      const page = await store.tokens.list({ clientId: application.clientId, limit: 500, cursor })
      for (const token of page.items) if (token.revokedAt === null) await store.tokens.revoke(token.id)
      cursor = page.nextCursor
    } while (cursor !== undefined)
    return { application: applicationOut(application) }
  }
})
