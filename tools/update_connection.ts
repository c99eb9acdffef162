import { Type, defineTool, assertChangeable, ownerOf, ConnectionSchema, DisplayName, ForeignScope, Id, IssuerUrl, ToolError, checkConnectionClients, connectionOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'update_connection',
  title: 'Update a connection',
  description: 'Changes a connection; fields left out stay as they are, lists are replaced as a whole. Assertions already issued keep what they carry until they expire (minutes).',
  scopes: ['connection:write'],
  input: Type.Object({
    id: Id('connection'),
    displayName: Type.Optional(DisplayName),
    audience: Type.Optional(IssuerUrl('the target authorization server\'s issuer')),
    resource: Type.Optional(Type.String({ pattern: '^https?://[^\\s#]+$', maxLength: 2000 })),
    scopes: Type.Optional(Type.Array(ForeignScope, { minItems: 1, maxItems: 100, uniqueItems: true })),
    clients: Type.Optional(Type.Array(Id('application'), { maxItems: 100, uniqueItems: true })),
    targetClientId: Type.Optional(Type.String({ minLength: 1, maxLength: 500 }))
  }, { additionalProperties: false }),
  output: Type.Object({ connection: ConnectionSchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler ({ id, ...patch }, { principal, store }) {
    assertChangeable(principal, 'connection', id)
    if (Object.keys(patch).length === 0) throw new ToolError('invalid', 'nothing to change: give at least one field besides id')
    if (patch.clients !== undefined) await checkConnectionClients(store, ownerOf(id), patch.clients)
    return { connection: connectionOut(await store.connections.update(id, patch)) }
  }
})
