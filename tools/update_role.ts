import { Type, defineTool, assertChangeable, Description, DisplayName, Id, RoleSchema, roleOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'update_role',
  title: 'Update a role',
  description: 'Changes a role\'s display name or description; fields left out stay as they are.',
  scopes: ['role:write'],
  input: Type.Object({
    id: Id('role'),
    displayName: Type.Optional(DisplayName),
    description: Type.Optional(Description)
  }, { additionalProperties: false }),
  output: Type.Object({ role: RoleSchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler ({ id, ...patch }, { principal, store }) {
    assertChangeable(principal, 'role', id)
    return { role: roleOut(await store.roles.update(id, patch)) }
  }
})
