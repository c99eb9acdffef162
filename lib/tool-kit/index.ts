/*
 * Everything a tool module imports, in one place: tools reach storage only through
 * `context.store`, and the schemas of what they show live beside each entity's repository.
 */
export { Type, type Static } from '@sinclair/typebox'
export * from './tool.js'
export * from './arguments.js'
export * from './checks.js'
export * from './access.js'
export { sortScopes } from '../scopes.js'
export { OrganizationSchema, organizationOut } from '../storage/repositories/organizations.schema.js'
export { UserSchema, userOut } from '../storage/repositories/users.schema.js'
export { ApplicationSchema, applicationOut } from '../storage/repositories/applications.schema.js'
export { RoleSchema, roleOut } from '../storage/repositories/roles.schema.js'
export { Effect, PermissionSchema, permissionOut } from '../storage/repositories/permissions.schema.js'
export { SessionSchema, sessionHandle, sessionOut } from '../storage/repositories/sessions.schema.js'
export { TokenSchema, tokenOut } from '../storage/repositories/tokens.schema.js'
export { AuditEventSchema, auditEventOut } from '../storage/repositories/audit.schema.js'
export { SigningKeySchema, signingKeyOut } from '../storage/repositories/signing-keys.schema.js'
export { IdentityProviderSchema, LinkBy, identityProviderOut } from '../storage/repositories/identity-providers.schema.js'
export { ConnectionSchema, connectionOut } from '../storage/repositories/connections.schema.js'
export * from './enterprise.js'
