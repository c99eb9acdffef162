import type { OrganizationRow } from './repositories/organizations.schema.js'
import type { UserRow } from './repositories/users.schema.js'
import type { ApplicationRow } from './repositories/applications.schema.js'
import type { RoleRow, UserRoleRow } from './repositories/roles.schema.js'
import type { PermissionRow } from './repositories/permissions.schema.js'
import type { TokenRow } from './repositories/tokens.schema.js'
import type { SessionRow } from './repositories/sessions.schema.js'
import type { SigningKeyRow } from './repositories/signing-keys.schema.js'
import type { AuditEventRow } from './repositories/audit.schema.js'
import type { AuthorizationCodeRow } from './repositories/authorization-codes.schema.js'
import type { ConsentRow } from './repositories/consents.schema.js'
import type { SettingRow } from './repositories/settings.schema.js'
import type { ChangeRow } from './changes.schema.js'
import type { LoginFailureRow } from './repositories/login-failures.schema.js'
import type { UsedValueRow } from './repositories/used-values.schema.js'
import type { IdentityProviderRow } from './repositories/identity-providers.schema.js'
import type { ConnectionRow } from './repositories/connections.schema.js'

/**
 * Tables as Kysely sees them, each row type declared beside its repository (in
 * `<entity>.schema.ts`, with the entity's model and result schema), so that a column is added
 * there and in a migration, never here. Both engines store the same values: timestamps are
 * milliseconds since the epoch (BIGINT on PostgreSQL, read back as numbers), booleans are 0/1
 * integers, lists are JSON text (lib/storage/columns.ts).
 */
export interface Database {
  organizations: OrganizationRow
  users: UserRow
  applications: ApplicationRow
  roles: RoleRow
  user_roles: UserRoleRow
  permissions: PermissionRow
  tokens: TokenRow
  sessions: SessionRow
  signing_keys: SigningKeyRow
  audit_events: AuditEventRow
  authorization_codes: AuthorizationCodeRow
  consents: ConsentRow
  settings: SettingRow
  changes: ChangeRow
  login_failures: LoginFailureRow
  used_values: UsedValueRow
  identity_providers: IdentityProviderRow
  connections: ConnectionRow
}
