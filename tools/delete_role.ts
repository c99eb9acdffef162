import { Type, defineTool, assertDeletable, Id, RoleSchema, roleOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'delete_role',
  title: 'Delete a role',
  description: 'Deletes a role and takes it away from every user holding it.',
  scopes: ['role:write'],
  input: Type.Object({ id: Id('role') }, { additionalProperties: false }),
  output: Type.Object({ role: RoleSchema }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  async handler (input, { principal, store }) {
    assertDeletable(principal, 'role', input.id)
    return { role: roleOut(await store.roles.delete(input.id)) }
  }
})
