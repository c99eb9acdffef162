import { Type, defineTool, assertVisible, Id, RoleSchema, roleOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_role',
  title: 'Get a role',
  description: 'Gets one role by id ("<organization>/<name>"), with the ids of the users it is assigned to.',
  scopes: ['role:read'],
  input: Type.Object({ id: Id('role') }, { additionalProperties: false }),
  output: Type.Object({
    role: RoleSchema,
    users: Type.Array(Type.String(), { description: 'ids of the users holding the role' })
  }),
  annotations: { readOnlyHint: true, idempotentHint: true },
  cacheable: true,
  async handler (input, { principal, store }) {
    assertVisible(principal, 'role', input.id)
    const role = await store.roles.get(input.id)
    return { role: roleOut(role), users: await store.roles.members(role.id) }
  }
})
