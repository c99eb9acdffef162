import { Type, defineTool, assertChangeable, ownerOf, Description, DisplayName, Effect, Id, PermissionSchema, checkPermissionRoles, permissionOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'update_permission',
  title: 'Update a permission',
  description: 'Changes a permission; fields left out stay as they are, lists are replaced as a whole. `roles` must name existing roles of the permission\'s organization.',
  scopes: ['permission:write'],
  input: Type.Object({
    id: Id('permission'),
    displayName: Type.Optional(DisplayName),
    description: Type.Optional(Description),
    roles: Type.Optional(Type.Array(Id('role'), { maxItems: 100, uniqueItems: true })),
    resources: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100, uniqueItems: true })),
    actions: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50, uniqueItems: true })),
    effect: Type.Optional(Effect)
  }, { additionalProperties: false }),
  output: Type.Object({ permission: PermissionSchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler ({ id, ...patch }, { principal, store }) {
    assertChangeable(principal, 'permission', id)
    if (patch.roles !== undefined) await checkPermissionRoles(store, ownerOf(id), patch.roles)
    return { permission: permissionOut(await store.permissions.update(id, patch)) }
  }
})
