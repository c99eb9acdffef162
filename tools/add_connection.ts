import { Type, defineTool, assertCanCreate, ConnectionSchema, DisplayName, ForeignScope, Id, IssuerUrl, Slug, checkConnectionClients, connectionOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'add_connection',
  title: 'Connect an organization to an MCP server',
  description: 'Lets the users of an organization (`owner`) reach an MCP server elsewhere through this service as their identity provider: the token exchange issues them identity assertions (ID-JAGs) for the authorization server `audience` and the MCP server `resource`, carrying at most `scopes` (a wider request is narrowed to them), to the applications in `clients` (application ids of the organization; empty = any of them). `targetClientId` is the requesting client\'s id at the target authorization server. Its id becomes "<owner>/<name>".',
  scopes: ['connection:write'],
  input: Type.Object({
    owner: Slug('the organization whose users may reach the target'),
    name: Slug('connection name, unique in its organization'),
    displayName: Type.Optional(DisplayName),
    audience: IssuerUrl('the target authorization server\'s issuer'),
    resource: Type.String({ pattern: '^https?://[^\\s#]+$', maxLength: 2000, description: 'the target MCP server\'s URL (its protected resource)' }),
    scopes: Type.Array(ForeignScope, { minItems: 1, maxItems: 100, uniqueItems: true, description: 'the most an assertion may carry' }),
    clients: Type.Optional(Type.Array(Id('application'), { maxItems: 100, uniqueItems: true, description: 'applications of the organization that may ask; empty or absent = any' })),
    targetClientId: Type.String({ minLength: 1, maxLength: 500, description: 'the requesting client\'s id at the target authorization server' })
  }, { additionalProperties: false }),
  output: Type.Object({ connection: ConnectionSchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async handler (input, { principal, store }) {
    assertCanCreate(principal, 'connection', input.owner)
    await checkConnectionClients(store, input.owner, input.clients ?? [])
    return { connection: connectionOut(await store.connections.create(input)) }
  }
})
