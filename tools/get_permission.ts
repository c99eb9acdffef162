import { Type, defineTool, assertVisible, Id, PermissionSchema, permissionOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_permission',
  title: 'Get a permission',
  description: 'Gets one permission by id ("<organization>/<name>"): the roles it applies to, the resources and actions it covers, and whether it allows or denies.',
  scopes: ['permission:read'],
  input: Type.Object({ id: Id('permission') }, { additionalProperties: false }),
  output: Type.Object({ permission: PermissionSchema }),
  annotations: { readOnlyHint: true, idempotentHint: true },
  cacheable: true,
  async handler (input, { principal, store }) {
    assertVisible(principal, 'permission', input.id)
    return { permission: permissionOut(await store.permissions.get(input.id)) }
  }
})
