import { Type, defineTool, assertVisible, ConnectionSchema, Id, connectionOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_connection',
  title: 'Get a connection',
  description: 'Gets one connection (which MCP server an organization\'s users may reach, with which scopes at most) by id ("<organization>/<name>").',
  scopes: ['connection:read'],
  input: Type.Object({ id: Id('connection') }, { additionalProperties: false }),
  output: Type.Object({ connection: ConnectionSchema }),
  annotations: { readOnlyHint: true, idempotentHint: true },
  cacheable: true,
  async handler (input, { principal, store }) {
    assertVisible(principal, 'connection', input.id)
    return { connection: connectionOut(await store.connections.get(input.id)) }
  }
})
