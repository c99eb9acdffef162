import { Type, defineTool, assertUserPatch, DisplayName, Email, Id, Password, Phone, UserSchema, userOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'update_user',
  title: 'Update a user',
  description: 'Changes a user; fields left out stay as they are. A plain user may change only its own displayName, email, phone and password; administrators may also set `isAdmin` and `isForbidden` for users they manage. Forbidding a user ends its sessions and revokes its tokens; changing a password ends its sessions (un-forbidding does not revive them). Forbidding or demoting the last global admin is refused.',
  scopes: ['user:write'],
  input: Type.Object({
    id: Id('user'),
    password: Type.Optional(Password),
    displayName: Type.Optional(DisplayName),
    email: Type.Optional(Email),
    phone: Type.Optional(Phone),
    isAdmin: Type.Optional(Type.Boolean()),
    isForbidden: Type.Optional(Type.Boolean())
  }, { additionalProperties: false }),
  output: Type.Object({ user: UserSchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler ({ id, ...patch }, { principal, store }) {
    assertUserPatch(principal, id, patch)
    // The store ends the sessions and revokes the tokens in the same transaction.
    const user = await store.users.update(id, patch)
    return { user: userOut(user) }
  }
})
