/*
 * What repositories return: camelCase objects, never a secret or a password hash. Each is
 * declared beside its repository, in `repositories/<entity>.schema.ts`; this module only
 * gathers them for the code outside storage.
 */
export type { Organization } from './repositories/organizations.schema.js'
export type { User } from './repositories/users.schema.js'
export type { Application } from './repositories/applications.schema.js'
export type { Role } from './repositories/roles.schema.js'
export type { Permission } from './repositories/permissions.schema.js'
export type { TokenRecord } from './repositories/tokens.schema.js'
export type { Session } from './repositories/sessions.schema.js'
export type { SigningKey } from './repositories/signing-keys.schema.js'
export type { AuditEvent } from './repositories/audit.schema.js'
export type { AuthorizationCode } from './repositories/authorization-codes.schema.js'
export type { IdentityProvider } from './repositories/identity-providers.schema.js'
export type { Connection } from './repositories/connections.schema.js'
export { iso } from './columns.js'
