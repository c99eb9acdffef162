import { Type, defineTool, assertDeletable, ApplicationSchema, Id, applicationOut } from '../lib/tool-kit/index.js'

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
    // The store revokes its tokens with it.
    const application = await store.applications.delete(input.id)
    return { application: applicationOut(application) }
  }
})
