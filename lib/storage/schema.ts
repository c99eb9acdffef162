/**
 * Table shapes as Kysely sees them. Both engines store the same values: timestamps are
 * milliseconds since the epoch (BIGINT on PostgreSQL, read back as numbers), booleans are 0/1
 * integers, lists are JSON text.
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
}

export interface OrganizationRow {
  id: string
  owner: string
  name: string
  display_name: string
  website_url: string
  created_at: number
  updated_at: number
}

export interface UserRow {
  id: string
  owner: string
  name: string
  /** NFKC + case-folded name: unique per organization, so look-alikes conflict. */
  name_key: string
  display_name: string
  email: string
  phone: string
  password_hash: string | null
  is_admin: number
  is_forbidden: number
  created_at: number
  updated_at: number
}

export interface ApplicationRow {
  id: string
  owner: string
  name: string
  display_name: string
  client_id: string
  client_secret_digest: string | null
  token_endpoint_auth_method: string
  redirect_uris: string
  grant_types: string
  scopes: string
  is_disabled: number
  is_dynamic: number
  registration_token_digest: string | null
  created_at: number
  updated_at: number
}

export interface RoleRow {
  id: string
  owner: string
  name: string
  display_name: string
  description: string
  created_at: number
  updated_at: number
}

export interface UserRoleRow {
  user_id: string
  role_id: string
  created_at: number
}

export interface PermissionRow {
  id: string
  owner: string
  name: string
  display_name: string
  description: string
  roles: string
  resources: string
  actions: string
  effect: string
  created_at: number
  updated_at: number
}

export interface TokenRow {
  /** The JWT's `jti` for access tokens; the digest of the opaque value for refresh tokens. */
  id: string
  kind: string
  subject: string
  subject_kind: string
  client_id: string
  scope: string
  audience: string
  family_id: string | null
  session_id: string | null
  code_id: string | null
  expires_at: number
  created_at: number
  revoked_at: number | null
  used_at: number | null
}

export interface SessionRow {
  /** The keyed digest of the cookie's value (`store.digest`): the value itself is never stored. */
  id: string
  user_id: string
  user_agent: string
  ip: string
  created_at: number
  expires_at: number
  ended_at: number | null
}

export interface SigningKeyRow {
  kid: string
  algorithm: string
  public_pem: string
  public_jwk: string
  /** `enc:v1:…` (encrypted with KEY_ENCRYPTION_SECRET or the SQLite key file), or PEM on PostgreSQL without it. */
  private_pem: string
  created_at: number
  /** When it stopped signing; null while it is the current key. */
  retired_at: number | null
}

export interface AuditEventRow {
  id: string
  at: number
  principal: string
  principal_kind: string
  organization: string
  client_id: string
  tool: string
  outcome: string
  duration_ms: number
  arguments: string
  error: string
}

export interface AuthorizationCodeRow {
  id: string
  client_id: string
  user_id: string
  session_id: string | null
  redirect_uri: string
  scope: string
  resource: string
  code_challenge: string
  nonce: string | null
  expires_at: number
  created_at: number
  used_at: number | null
  replayed_at: number | null
}

export interface ConsentRow {
  user_id: string
  client_id: string
  scope: string
  created_at: number
}

export interface SettingRow {
  key: string
  value: string
}

/** An append-only feed of what invalidates cached auth state; every instance polls it. */
export interface ChangeRow {
  id: string
  at: number
  kind: string
  ref: string
}

export interface LoginFailureRow {
  key: string
  failures: number
  first_at: number
  locked_until: number
}
