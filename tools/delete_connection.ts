import { Type, defineTool, assertDeletable, ConnectionSchema, Id, connectionOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'delete_connection',
  title: 'Delete a connection',
  description: 'Stops issuing identity assertions for a connection\'s target. Assertions already issued expire within minutes; the target decides about the tokens it issued for them.',
  scopes: ['connection:write'],
  input: Type.Object({ id: Id('connection') }, { additionalProperties: false }),
  output: Type.Object({ connection: ConnectionSchema }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  async handler (input, { principal, store }) {
    assertDeletable(principal, 'connection', input.id)
    return { connection: connectionOut(await store.connections.delete(input.id)) }
  }
})
