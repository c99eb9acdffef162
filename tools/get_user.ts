import { Type, defineTool, assertVisible, Id, UserSchema, userOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_user',
  title: 'Get a user',
  description: 'Gets one user by id ("<organization>/<name>"), with the ids of the roles assigned to it. A plain user may get only itself; an organization admin the users of its organization. The password is never shown (`hasPassword` says whether one is set).',
  scopes: ['user:read'],
  input: Type.Object({ id: Id('user') }, { additionalProperties: false }),
  output: Type.Object({
    user: UserSchema,
    roles: Type.Array(Type.String(), { description: 'ids of the roles assigned to the user' })
  }),
  annotations: { readOnlyHint: true, idempotentHint: true },
  cacheable: true,
  async handler (input, { principal, store }) {
    assertVisible(principal, 'user', input.id)
    const user = await store.users.get(input.id)
    return { user: userOut(user), roles: await store.roles.ofUser(user.id) }
  }
})
