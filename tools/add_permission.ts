import { Type, defineTool, assertCanCreate, Description, DisplayName, Effect, Id, PermissionSchema, Slug, checkPermissionRoles, permissionOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'add_permission',
  title: 'Add a permission',
  description: 'Creates a permission in an organization (`owner`); its id becomes "<owner>/<name>". It grants (`effect` "allow", the default) or refuses ("deny") `actions` on `resources` to the holders of `roles` (role ids of the same organization, which must exist).',
  scopes: ['permission:write'],
  input: Type.Object({
    owner: Slug('the organization the permission belongs to'),
    name: Slug('permission name, unique in its organization'),
    displayName: Type.Optional(DisplayName),
    description: Type.Optional(Description),
    roles: Type.Optional(Type.Array(Id('role'), { maxItems: 100, uniqueItems: true })),
    resources: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100, uniqueItems: true, description: 'what it covers, e.g. "app-built-in" or "documents/*"' })),
    actions: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50, uniqueItems: true, description: 'e.g. "read", "write"' })),
    effect: Type.Optional(Effect)
  }, { additionalProperties: false }),
  output: Type.Object({ permission: PermissionSchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async handler (input, { principal, store }) {
    assertCanCreate(principal, 'permission', input.owner)
    await checkPermissionRoles(store, input.owner, input.roles ?? [])
    return { permission: permissionOut(await store.permissions.create(input)) }
  }
})
