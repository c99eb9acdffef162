/** What repositories return: camelCase objects, never a secret or a password hash. */

export interface Organization {
  id: string
  owner: string
  name: string
  displayName: string
  websiteUrl: string
  createdTime: string
  updatedTime: string
}

export interface User {
  id: string
  owner: string
  name: string
  displayName: string
  email: string
  phone: string
  isAdmin: boolean
  isForbidden: boolean
  hasPassword: boolean
  createdTime: string
  updatedTime: string
}

export interface Application {
  id: string
  owner: string
  name: string
  displayName: string
  clientId: string
  /** `none` for public clients (no secret), else `client_secret_basic` / `client_secret_post`. */
  tokenEndpointAuthMethod: string
  redirectUris: string[]
  grantTypes: string[]
  scopes: string[]
  isDisabled: boolean
  isDynamic: boolean
  createdTime: string
  updatedTime: string
}

export interface Role {
  id: string
  owner: string
  name: string
  displayName: string
  description: string
  createdTime: string
  updatedTime: string
}

export interface Permission {
  id: string
  owner: string
  name: string
  displayName: string
  description: string
  roles: string[]
  resources: string[]
  actions: string[]
  effect: 'allow' | 'deny'
  createdTime: string
  updatedTime: string
}

export interface TokenRecord {
  id: string
  kind: 'access' | 'refresh'
  subject: string
  subjectKind: 'user' | 'application'
  clientId: string
  scope: string
  audience: string
  familyId: string | null
  sessionId: string | null
  codeId: string | null
  expiresAt: number
  createdAt: number
  revokedAt: number | null
  usedAt: number | null
}

export interface Session {
  id: string
  userId: string
  userAgent: string
  ip: string
  createdAt: number
  expiresAt: number
  endedAt: number | null
}

export interface SigningKey {
  kid: string
  algorithm: string
  publicPem: string
  publicJwk: Record<string, unknown>
  privatePem: string
  createdAt: number
  retiredAt: number | null
}

export interface AuditEvent {
  id: string
  at: number
  principal: string
  principalKind: string
  organization: string
  clientId: string
  tool: string
  outcome: 'success' | 'error' | 'denied'
  durationMs: number
  arguments: unknown
  error: string
}

export interface AuthorizationCode {
  id: string
  clientId: string
  userId: string
  sessionId: string | null
  redirectUri: string
  scope: string
  resource: string
  codeChallenge: string
  nonce: string | null
  expiresAt: number
  createdAt: number
  usedAt: number | null
}

export const iso = (ms: number): string => new Date(ms).toISOString()
