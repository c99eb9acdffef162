import { createHash } from 'node:crypto'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import type { Application, AuditEvent, Organization, Permission, Role, Session, TokenRecord, User } from './storage/models.js'
import type { Page } from './storage/paging.js'
import { MAX_LIMIT } from './storage/paging.js'
import { OIDC_SCOPES, isAlias } from './scopes.js'
import { ToolError, type SigningKeyInfo } from './tool.js'
import { checkRedirectUri } from './oauth/registration.js'
import type { Store } from './storage/store.js'
import { StoreError } from './storage/errors.js'

/*
 * The schemas the IAM's tools share: argument shapes (names, ids, paging) and the objects their
 * results carry. Results are built field by field from these, so a column the store adds later
 * never reaches a caller by accident. Conventions: a list answers `{ items, nextCursor? }`; a
 * single object answers `{ <kind>: {...} }` (plus `clientSecret` where one is shown once).
 */

/* ------------------------------------------------------------------ arguments */

/**
 * Organization, application, role and permission names: they appear in ids (`owner/name`) and,
 * for applications, in URLs — a plain slug, no `/`, no `..`.
 */
export const SLUG_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'
export const Slug = (description: string) =>
  Type.String({ pattern: SLUG_PATTERN, minLength: 1, maxLength: 64, description: `${description} (1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)` })

/**
 * User names may be any script (a look-alike of an existing name is a conflict), but no
 * whitespace, control characters, `/`, `\` or URL-special characters, and not `.` or `..`.
 * Nor invisible or bidi-control characters (soft hyphen, zero-width, direction marks,
 * embeddings, isolates): NFKC keeps them, so `ad<ZWSP>min` would be a new user that looks like `admin`.
 */
export const USER_NAME_PATTERN = '^(?![.]{1,2}$)[^\\s\\x00-\\x1f\\x7f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u206f\\ufeff/\\\\?#%"\'<>:]{1,64}$'
export const UserName = Type.String({ pattern: USER_NAME_PATTERN, minLength: 1, maxLength: 64, description: 'user name, unique in its organization after NFKC normalisation, case folding and confusable mapping (an e-mail address works; no whitespace, "/", "\\", ":", "?", "#", "%", quotes or angle brackets)' })

/** `owner/name`. */
export const ID_PATTERN = '^[^\\s/]{1,64}/[^\\s/]{1,64}$'
export const Id = (what: string) =>
  Type.String({ pattern: ID_PATTERN, maxLength: 129, description: `the ${what}'s id, "owner/name"` })

/** An organization's id (`admin/<name>`) or bare name. */
export const OrganizationRef = Type.String({ pattern: '^(admin/)?[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', maxLength: 70, description: 'the organization\'s id ("admin/<name>") or name' })

export const DisplayName = Type.String({ maxLength: 200, description: 'human-readable name' })
export const Description = Type.String({ maxLength: 2000 })
export const EMAIL_PATTERN = '^$|^[^\\s@]{1,64}@[^\\s@]+\\.[^\\s@]+$'
export const Email = Type.String({ pattern: EMAIL_PATTERN, maxLength: 254, description: 'e-mail address ("" clears it)' })
export const PHONE_PATTERN = '^$|^[+]?[0-9][0-9 ().-]{2,31}$'
export const Phone = Type.String({ pattern: PHONE_PATTERN, maxLength: 32, description: 'phone number, digits with optional leading + ("" clears it)' })
export const Password = Type.String({ minLength: 8, maxLength: 256, description: 'new password (8-256 characters); stored only as a hash, never shown' })
export const WEBSITE_PATTERN = '^$|^https?://[^\\s]+$'
export const WebsiteUrl = Type.String({ pattern: WEBSITE_PATTERN, maxLength: 2000, description: 'http(s) URL ("" clears it)' })
export const RedirectUri = Type.String({ pattern: '^https?://[^\\s#]+$', maxLength: 2000, description: 'absolute https URL without fragment (http only on loopback hosts)' })
export const GrantType = Type.Union([Type.Literal('authorization_code'), Type.Literal('client_credentials'), Type.Literal('refresh_token')])
export const APP_SCOPE_PATTERN = '^(read|write|admin|openid|profile|email|[a-z][a-z0-9_-]*:(read|write))$'
export const AppScope = Type.String({ pattern: APP_SCOPE_PATTERN, maxLength: 100, description: 'a tool scope ("user:read"), an alias (read, write, admin) or an OIDC scope (openid, profile, email)' })
export const Effect = Type.Union([Type.Literal('allow'), Type.Literal('deny')])
export const Timestamp = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}([.]\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$', description: 'ISO 8601 date-time with zone, e.g. 2026-01-31T12:00:00Z' })

/** Paging arguments of every list tool. */
export const PagingArguments = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, description: `page size, 1-${MAX_LIMIT} (default 50)` })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' }))
}

/** What the list tools of organization-owned objects accept. */
export const ListArguments = {
  owner: Type.Optional(Type.String({ pattern: SLUG_PATTERN, maxLength: 64, description: 'only objects of this organization (callers outside `built-in` only ever see their own)' })),
  filter: Type.Optional(Type.String({ maxLength: 100, description: 'case-insensitive substring of the name or display name' })),
  ...PagingArguments
}

/** `{ items, nextCursor? }`. */
export function PageOf<T extends TSchema> (item: T) {
  return Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Optional(Type.String({ description: 'pass as cursor to get the next page; absent on the last page' }))
  })
}

export function pageOut<T, O> (page: Page<T>, map: (item: T) => O): { items: O[], nextCursor?: string } {
  const out: { items: O[], nextCursor?: string } = { items: page.items.map(map) }
  if (page.nextCursor !== undefined) out.nextCursor = page.nextCursor
  return out
}

/* ------------------------------------------------------------------ results */

const iso = (ms: number): string => new Date(ms).toISOString()

export const OrganizationSchema = Type.Object({
  id: Type.String(),
  owner: Type.String(),
  name: Type.String(),
  displayName: Type.String(),
  websiteUrl: Type.String(),
  createdTime: Type.String(),
  updatedTime: Type.String()
})
export function organizationOut (o: Organization): Static<typeof OrganizationSchema> {
  return { id: o.id, owner: o.owner, name: o.name, displayName: o.displayName, websiteUrl: o.websiteUrl, createdTime: o.createdTime, updatedTime: o.updatedTime }
}

export const UserSchema = Type.Object({
  id: Type.String(),
  owner: Type.String(),
  name: Type.String(),
  displayName: Type.String(),
  email: Type.String(),
  phone: Type.String(),
  isAdmin: Type.Boolean(),
  isForbidden: Type.Boolean(),
  hasPassword: Type.Boolean({ description: 'whether a password is set (the password itself is never shown)' }),
  createdTime: Type.String(),
  updatedTime: Type.String()
})
export function userOut (u: User): Static<typeof UserSchema> {
  return { id: u.id, owner: u.owner, name: u.name, displayName: u.displayName, email: u.email, phone: u.phone, isAdmin: u.isAdmin, isForbidden: u.isForbidden, hasPassword: u.hasPassword, createdTime: u.createdTime, updatedTime: u.updatedTime }
}

export const ApplicationSchema = Type.Object({
  id: Type.String(),
  owner: Type.String(),
  name: Type.String(),
  displayName: Type.String(),
  clientId: Type.String(),
  tokenEndpointAuthMethod: Type.String(),
  redirectUris: Type.Array(Type.String()),
  grantTypes: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
  isDisabled: Type.Boolean(),
  isDynamic: Type.Boolean({ description: 'registered through dynamic client registration' }),
  createdTime: Type.String(),
  updatedTime: Type.String()
})
export function applicationOut (a: Application): Static<typeof ApplicationSchema> {
  return {
    id: a.id,
    owner: a.owner,
    name: a.name,
    displayName: a.displayName,
    clientId: a.clientId,
    tokenEndpointAuthMethod: a.tokenEndpointAuthMethod,
    redirectUris: [...a.redirectUris],
    grantTypes: [...a.grantTypes],
    scopes: [...a.scopes],
    isDisabled: a.isDisabled,
    isDynamic: a.isDynamic,
    createdTime: a.createdTime,
    updatedTime: a.updatedTime
  }
}

export const RoleSchema = Type.Object({
  id: Type.String(),
  owner: Type.String(),
  name: Type.String(),
  displayName: Type.String(),
  description: Type.String(),
  createdTime: Type.String(),
  updatedTime: Type.String()
})
export function roleOut (r: Role): Static<typeof RoleSchema> {
  return { id: r.id, owner: r.owner, name: r.name, displayName: r.displayName, description: r.description, createdTime: r.createdTime, updatedTime: r.updatedTime }
}

export const PermissionSchema = Type.Object({
  id: Type.String(),
  owner: Type.String(),
  name: Type.String(),
  displayName: Type.String(),
  description: Type.String(),
  roles: Type.Array(Type.String(), { description: 'ids of the roles it applies to' }),
  resources: Type.Array(Type.String()),
  actions: Type.Array(Type.String()),
  effect: Effect,
  createdTime: Type.String(),
  updatedTime: Type.String()
})
export function permissionOut (p: Permission): Static<typeof PermissionSchema> {
  return {
    id: p.id,
    owner: p.owner,
    name: p.name,
    displayName: p.displayName,
    description: p.description,
    roles: [...p.roles],
    resources: [...p.resources],
    actions: [...p.actions],
    effect: p.effect,
    createdTime: p.createdTime,
    updatedTime: p.updatedTime
  }
}

/**
 * A session's public handle. The stored session id is what the login cookie carries, so it is
 * a credential: tools name sessions by a digest of it instead.
 */
export function sessionHandle (sessionId: string): string {
  return 'ses_' + createHash('sha256').update(sessionId).digest('base64url').slice(0, 32)
}

export const TokenSchema = Type.Object({
  id: Type.String({ description: 'the token id (the JWT\'s jti); pass it to revoke_token' }),
  kind: Type.Union([Type.Literal('access'), Type.Literal('refresh')]),
  subject: Type.String({ description: 'id of the user or application the token acts for' }),
  subjectKind: Type.Union([Type.Literal('user'), Type.Literal('application')]),
  clientId: Type.String(),
  scope: Type.String(),
  audience: Type.String(),
  session: Type.Optional(Type.String({ description: 'handle of the login session it was issued through' })),
  createdTime: Type.String(),
  expiresTime: Type.String(),
  revokedTime: Type.Optional(Type.String()),
  active: Type.Boolean({ description: 'neither revoked nor expired' })
})
export function tokenOut (t: TokenRecord, now = Date.now()): Static<typeof TokenSchema> {
  const out: Static<typeof TokenSchema> = {
    id: t.id,
    kind: t.kind,
    subject: t.subject,
    subjectKind: t.subjectKind,
    clientId: t.clientId,
    scope: t.scope,
    audience: t.audience,
    createdTime: iso(t.createdAt),
    expiresTime: iso(t.expiresAt),
    active: t.revokedAt === null && t.expiresAt > now
  }
  if (t.sessionId !== null) out.session = sessionHandle(t.sessionId)
  if (t.revokedAt !== null) out.revokedTime = iso(t.revokedAt)
  return out
}

export const SessionSchema = Type.Object({
  id: Type.String({ description: 'the session\'s handle (not its cookie); pass it to end_session' }),
  userId: Type.String(),
  userAgent: Type.String(),
  ip: Type.String(),
  createdTime: Type.String(),
  expiresTime: Type.String()
})
export function sessionOut (s: Session): Static<typeof SessionSchema> {
  return { id: sessionHandle(s.id), userId: s.userId, userAgent: s.userAgent, ip: s.ip, createdTime: iso(s.createdAt), expiresTime: iso(s.expiresAt) }
}

export const AuditEventSchema = Type.Object({
  id: Type.String(),
  time: Type.String({ description: 'ISO 8601' }),
  principal: Type.String(),
  principalKind: Type.String(),
  organization: Type.String(),
  clientId: Type.String(),
  tool: Type.String(),
  outcome: Type.String({ description: 'success, error or denied' }),
  durationMs: Type.Number(),
  arguments: Type.Unknown({ description: 'the call\'s arguments, secrets removed' }),
  error: Type.String()
})
export function auditEventOut (e: AuditEvent): Static<typeof AuditEventSchema> {
  return {
    id: e.id,
    time: iso(e.at),
    principal: e.principal,
    principalKind: e.principalKind,
    organization: e.organization,
    clientId: e.clientId,
    tool: e.tool,
    outcome: e.outcome,
    durationMs: e.durationMs,
    arguments: e.arguments ?? {},
    error: e.error
  }
}

export const SigningKeySchema = Type.Object({
  kid: Type.String(),
  algorithm: Type.String(),
  createdTime: Type.String(),
  retiredTime: Type.Optional(Type.String({ description: 'when it stopped signing new tokens' })),
  current: Type.Boolean({ description: 'the key new tokens are signed with' })
})
export function signingKeyOut (k: SigningKeyInfo): Static<typeof SigningKeySchema> {
  const out: Static<typeof SigningKeySchema> = { kid: k.kid, algorithm: k.algorithm, createdTime: k.createdTime, current: k.current }
  if (k.retiredTime !== undefined) out.retiredTime = k.retiredTime
  return out
}

/* ------------------------------------------------------------------ checks a schema cannot express */

/**
 * Invisible code points by Unicode property (the schema pattern, compiled without the `u` flag,
 * can only list ranges): default-ignorables (zero-width, bidi controls, variation selectors,
 * Hangul fillers, tags), format and control characters, separators, private-use and unassigned.
 */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Z}]/u

/**
 * A user name must stay safe after NFKC folding too (a full-width `／` folds to `/`), and hold
 * nothing invisible: `ad<ZWSP>min` would be a new user that looks like `admin`.
 */
export function checkUserName (name: string): void {
  const folded = name.normalize('NFKC')
  if (INVISIBLE.test(folded)) {
    throw new ToolError('invalid', `user name ${JSON.stringify(name)} is not allowed: it contains an invisible, control or unassigned character`)
  }
  if (!new RegExp(USER_NAME_PATTERN).test(folded)) {
    throw new ToolError('invalid', `user name ${JSON.stringify(name)} is not allowed: after Unicode normalisation it contains a reserved character`)
  }
}

/**
 * Redirect URIs follow the same rule as dynamic client registration (one rule, in
 * lib/oauth/registration.ts): absolute, no fragment or credentials, https or loopback http.
 */
export function checkRedirectUris (uris: readonly string[]): void {
  for (const uri of uris) {
    try {
      checkRedirectUri(uri)
    } catch (err) {
      throw new ToolError('invalid', `redirectUris: ${(err as Error).message}`)
    }
  }
}

/**
 * What an application may be granted: known tool scopes, the aliases, and the OIDC scopes
 * (whether the caller may hand them out is `assertMayChangeApplication`'s question).
 */
export function checkApplicationScopes (scopes: readonly string[], known: ReadonlySet<string>): void {
  const unknown = scopes.filter(s => !isAlias(s) && !(OIDC_SCOPES as readonly string[]).includes(s) && !known.has(s))
  if (unknown.length > 0) {
    throw new ToolError('invalid', `scopes: unknown scope ${unknown.map(s => JSON.stringify(s)).join(', ')}; use tool scopes such as "user:read", the aliases read, write, admin, or openid, profile, email`)
  }
}

/** A permission's roles must be existing roles of its own organization. */
export async function checkPermissionRoles (store: Store, owner: string, roles: readonly string[]): Promise<void> {
  for (const role of roles) {
    if (!role.startsWith(`${owner}/`)) throw new ToolError('invalid', `roles: "${role}" is not a role of organization "${owner}"`)
    try {
      await store.roles.get(role)
    } catch (err) {
      if (err instanceof StoreError && err.code === 'not_found') throw new ToolError('invalid', `roles: role "${role}" does not exist`)
      throw err
    }
  }
}
