import { Type, defineTool, reachOf, sessionHandle, sortScopes, type Static } from '../lib/tool-kit/index.js'

const AccountSchema = Type.Object({
  kind: Type.Union([Type.Literal('user'), Type.Literal('application')]),
  id: Type.String(),
  name: Type.String(),
  organization: Type.String(),
  role: Type.Union([Type.Literal('global-admin'), Type.Literal('organization-admin'), Type.Literal('user'), Type.Literal('application')], {
    description: 'global-admin reaches every organization; organization-admin and application reach their organization; user reaches only itself'
  }),
  isAdmin: Type.Boolean(),
  isGlobalAdmin: Type.Boolean(),
  scopes: Type.Array(Type.String(), { description: 'the scopes this request may use' }),
  unrestricted: Type.Boolean({ description: 'a login session: every tool, bounded only by the role' }),
  clientId: Type.Optional(Type.String({ description: 'the OAuth client the request came through' })),
  roles: Type.Array(Type.String(), { description: 'ids of the roles assigned to the user' }),
  displayName: Type.Optional(Type.String()),
  email: Type.Optional(Type.String()),
  session: Type.Optional(Type.String({ description: 'handle of the login session the request came through (see get_sessions)' }))
})

export default defineTool({
  name: 'get_account',
  title: 'Who am I',
  description: 'Describes the caller: whether it is a user or an application, its id, organization and role (global-admin, organization-admin, user or application), the scopes this request may use, and the client it came through. Use it first to learn what you may do.',
  scopes: ['account:read'],
  input: Type.Object({}, { additionalProperties: false }),
  output: AccountSchema,
  annotations: { readOnlyHint: true, idempotentHint: true },
  cacheable: true,
  async handler (_input, { principal, store, knownScopes }) {
    const reach = reachOf(principal)
    const role = principal.isGlobalAdmin
      ? 'global-admin'
      : principal.kind === 'application' ? 'application' : reach.level === 'organization' ? 'organization-admin' : 'user'
    const scopes = principal.scopes === null ? knownScopes : principal.scopes
    const account: Static<typeof AccountSchema> = {
      kind: principal.kind,
      id: principal.id,
      name: principal.name,
      organization: principal.organization,
      role,
      isAdmin: principal.isAdmin,
      isGlobalAdmin: principal.isGlobalAdmin,
      scopes: sortScopes(scopes),
      unrestricted: principal.scopes === null,
      roles: []
    }
    if (principal.clientId !== null) account.clientId = principal.clientId
    if (principal.sessionId !== undefined) account.session = sessionHandle(principal.sessionId)
    if (principal.kind === 'user') {
      const user = await store.users.find(principal.id)
      if (user !== undefined) {
        account.displayName = user.displayName
        account.email = user.email
        account.roles = await store.roles.ofUser(user.id)
      }
    } else {
      const application = await store.applications.get(principal.id).catch(() => undefined)
      if (application !== undefined) account.displayName = application.displayName
    }
    return account
  }
})
