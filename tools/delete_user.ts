import { Type, defineTool, assertDeletable, Id, UserSchema, userOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'delete_user',
  title: 'Delete a user',
  description: 'Deletes a user: its role assignments go, its sessions end and its tokens are revoked. Deleting the last global admin is refused. Administrators only (an organization admin within its organization).',
  scopes: ['user:write'],
  input: Type.Object({ id: Id('user') }, { additionalProperties: false }),
  output: Type.Object({ user: UserSchema }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  async handler (input, { principal, store }) {
    assertDeletable(principal, 'user', input.id)
    // The store ends the sessions and revokes the tokens in the same transaction.
    const user = await store.users.delete(input.id)
    return { user: userOut(user) }
  }
})
