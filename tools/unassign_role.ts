import { Type, defineTool, assertChangeable, Id } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'unassign_role',
  title: 'Take a role from a user',
  description: 'Takes a role away from a user. A user that does not hold the role is reported as not found.',
  scopes: ['role:write'],
  input: Type.Object({ user: Id('user'), role: Id('role') }, { additionalProperties: false }),
  output: Type.Object({
    user: Type.String(),
    role: Type.String(),
    roles: Type.Array(Type.String(), { description: 'every role the user still holds' })
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  async handler (input, { principal, store }) {
    assertChangeable(principal, 'role', input.role)
    assertChangeable(principal, 'user', input.user)
    await store.roles.unassign(input.user, input.role)
    return { user: input.user, role: input.role, roles: await store.roles.ofUser(input.user) }
  }
})
