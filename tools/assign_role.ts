import { Type, ToolError, defineTool, assertChangeable, ownerOf, Id } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'assign_role',
  title: 'Assign a role to a user',
  description: 'Gives a user a role of the same organization. Assigning a role the user already holds is a conflict.',
  scopes: ['role:write'],
  input: Type.Object({ user: Id('user'), role: Id('role') }, { additionalProperties: false }),
  output: Type.Object({
    user: Type.String(),
    role: Type.String(),
    roles: Type.Array(Type.String(), { description: 'every role the user now holds' })
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async handler (input, { principal, store }) {
    assertChangeable(principal, 'role', input.role)
    assertChangeable(principal, 'user', input.user)
    if (ownerOf(input.user) !== ownerOf(input.role)) {
      throw new ToolError('invalid', `role "${input.role}" belongs to another organization than user "${input.user}"`)
    }
    await store.roles.assign(input.user, input.role)
    return { user: input.user, role: input.role, roles: await store.roles.ofUser(input.user) }
  }
})
