import { Type, defineTool, assertDeletable, Id, PermissionSchema, permissionOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'delete_permission',
  title: 'Delete a permission',
  description: 'Deletes a permission.',
  scopes: ['permission:write'],
  input: Type.Object({ id: Id('permission') }, { additionalProperties: false }),
  output: Type.Object({ permission: PermissionSchema }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  async handler (input, { principal, store }) {
    assertDeletable(principal, 'permission', input.id)
    return { permission: permissionOut(await store.permissions.delete(input.id)) }
  }
})
