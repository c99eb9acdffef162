import type { Principal } from '../principal.js'
import { ToolError } from './tool.js'
import { BOOTSTRAP_APPLICATION, BUILT_IN } from '../bootstrap.js'
import type { Application } from '../storage/models.js'
import { organizationName, ownerOf } from '../storage/names.js'
import { missingToChangeApplication } from '../auth/policy.js'
export { changesApplicationAccess } from '../auth/policy.js'

/*
 * Object-level permissions of the IAM's tools, on top of scopes — the one place that knows them.
 *
 * - A global admin (a `built-in` admin, or a `built-in` application acting for itself) reaches
 *   everything.
 * - An organization admin, and an application acting for itself, reach their own organization:
 *   its users (admins included), applications, roles, permissions, tokens, sessions and audit
 *   events. They cannot create, change or delete organizations other than updating their own.
 * - A plain user reaches itself: it may read and update its own profile and password, list and
 *   end its own sessions and tokens, and read its own organization.
 *
 * Whatever a caller may not see answers exactly like a missing object (`not_found`, same
 * message as the store's), so ids in other organizations reveal nothing. What a caller may see
 * but not do answers `forbidden`.
 */

export type Reach =
  | { level: 'all' }
  | { level: 'organization', organization: string }
  | { level: 'self', organization: string, userId: string }

export type ObjectKind = 'organization' | 'user' | 'application' | 'role' | 'permission' | 'identity provider' | 'connection'

export function reachOf (principal: Principal): Reach {
  if (principal.isGlobalAdmin) return { level: 'all' }
  if (principal.kind === 'application' || principal.isAdmin) return { level: 'organization', organization: principal.organization }
  return { level: 'self', organization: principal.organization, userId: principal.id }
}

// How ids are formed is storage's to say: the access rules read them the same way.
export { organizationName, ownerOf } from '../storage/names.js'

/** Worded exactly like the store's own not-found error. */
export function notFound (what: string, id: string): ToolError {
  return new ToolError('not_found', `${what} ${JSON.stringify(id)} not found`)
}

export function forbidden (message: string): ToolError {
  return new ToolError('forbidden', message)
}

/** Whether the caller manages the objects an organization owns. */
export function managesOrganization (principal: Principal, organization: string): boolean {
  const reach = reachOf(principal)
  return reach.level === 'all' || (reach.level === 'organization' && reach.organization === organization)
}

/** Whether the caller may see this object (by id; organizations by id or name). */
export function canSee (principal: Principal, kind: ObjectKind, id: string): boolean {
  const reach = reachOf(principal)
  if (reach.level === 'all') return true
  if (kind === 'organization') return organizationName(id) === reach.organization
  if (kind === 'user' && reach.level === 'self') return id === reach.userId
  return reach.level === 'organization' && ownerOf(id) === reach.organization
}

/** Throws `not_found` (as if missing) unless the caller may see the object. */
export function assertVisible (principal: Principal, kind: ObjectKind, id: string): void {
  if (!canSee(principal, kind, id)) throw notFound(kind, id)
}

/**
 * Throws unless the caller may change the object: `not_found` when it may not even see it,
 * `forbidden` when it sees it but may not change it.
 */
export function assertChangeable (principal: Principal, kind: ObjectKind, id: string): void {
  assertVisible(principal, kind, id)
  const reach = reachOf(principal)
  if (reach.level === 'self' && kind !== 'user') {
    throw forbidden(`only an administrator may change ${kind}s`)
  }
}

/** Throws `forbidden` unless the caller may create a `kind` in `organization`. */
export function assertCanCreate (principal: Principal, kind: ObjectKind, organization: string): void {
  if (kind === 'organization') {
    if (!principal.isGlobalAdmin) throw forbidden('only a global admin may create organizations')
    return
  }
  if (!managesOrganization(principal, organization)) {
    const reach = reachOf(principal)
    throw forbidden(reach.level === 'self'
      ? `only an administrator may create ${kind}s`
      : `you may only create ${kind}s in your own organization "${principal.organization}"`)
  }
}

/**
 * Throws unless the caller may delete the object; refuses the objects the service cannot run
 * without (the built-in organization and the bootstrap application). The last global admin is
 * guarded by the store itself, which counts admins in the same place it changes them.
 */
export function assertDeletable (principal: Principal, kind: ObjectKind, id: string): void {
  assertChangeable(principal, kind, id)
  if (kind === 'organization') {
    if (!principal.isGlobalAdmin) throw forbidden('only a global admin may delete organizations')
    if (organizationName(id) === BUILT_IN) throw forbidden(`the "${BUILT_IN}" organization cannot be deleted`)
  }
  if (kind === 'user' && reachOf(principal).level === 'self') throw forbidden('only an administrator may delete users')
  if (kind === 'application' && isBootstrapApplication(id)) throw forbidden(`the bootstrap application "${BOOTSTRAP_APPLICATION}" cannot be deleted`)
}

export function isBootstrapApplication (id: string): boolean {
  return id === `${BUILT_IN}/${BOOTSTRAP_APPLICATION}`
}

/** The fields of a user a plain user may change on itself. */
const SELF_SERVICE_FIELDS = new Set(['displayName', 'email', 'phone', 'password'])

/** Throws unless the caller may apply this patch to this user (after `assertChangeable`). */
export function assertUserPatch (principal: Principal, userId: string, patch: Record<string, unknown>): void {
  assertChangeable(principal, 'user', userId)
  if (reachOf(principal).level !== 'self') return
  const refused = Object.keys(patch).filter(k => patch[k] !== undefined && !SELF_SERVICE_FIELDS.has(k))
  if (refused.length > 0) throw forbidden(`you may change only your own displayName, email, phone and password, not ${refused.join(', ')}`)
}

/**
 * The `owner` a list of organization-owned objects runs with: the requested one for a global
 * admin; the caller's organization for anyone else. `null` means the caller sees none (a plain
 * user listing applications, or anyone asking for an organization it cannot see).
 */
export function listOwner (principal: Principal, requested: string | undefined): { owner?: string } | null {
  const reach = reachOf(principal)
  if (reach.level === 'all') return requested === undefined ? {} : { owner: requested }
  if (reach.level === 'self') return null
  if (requested !== undefined && requested !== reach.organization) return null
  return { owner: reach.organization }
}

/**
 * Whether the caller may see the tokens and sessions of this subject (a user or application
 * id): its organization for administrators, itself for a plain user.
 */
export function canSeeSubject (principal: Principal, subject: string): boolean {
  const reach = reachOf(principal)
  if (reach.level === 'all') return true
  if (reach.level === 'organization') return ownerOf(subject) === reach.organization
  return subject === reach.userId
}

/**
 * The filter a token or session list runs with: `owner` for an organization's administrators,
 * `subject` for a plain user; nothing for a global admin. `null` when the requested owner is
 * out of reach.
 */
export function subjectScope (principal: Principal, requestedOwner: string | undefined): { owner?: string, subject?: string } | null {
  const reach = reachOf(principal)
  if (reach.level === 'all') return requestedOwner === undefined ? {} : { owner: requestedOwner }
  if (requestedOwner !== undefined && requestedOwner !== reach.organization) return null
  if (reach.level === 'organization') return { owner: reach.organization }
  return { subject: reach.userId }
}

/**
 * The organization whose audit events the caller may read: `undefined` = all of them (global
 * admins). Plain users are refused.
 */
export function auditOrganization (principal: Principal): string | undefined {
  const reach = reachOf(principal)
  if (reach.level === 'all') return undefined
  if (reach.level === 'organization') return reach.organization
  throw forbidden('only administrators may read the audit log')
}

export function assertGlobalAdmin (principal: Principal, what: string): void {
  if (!principal.isGlobalAdmin) throw forbidden(`only a global admin may ${what}`)
}

/**
 * Throws `forbidden` unless the caller holds every scope the application may be granted (as
 * it will be after the change): creating it, changing its scopes, grant types or redirect
 * URIs, or rotating its secret would otherwise hand out more than the caller holds.
 */
export function assertMayChangeApplication (principal: Principal, app: Pick<Application, 'scopes'>, known: ReadonlySet<string>): void {
  const missing = missingToChangeApplication(principal.scopes, app, known)
  if (missing.length > 0) {
    throw forbidden(`you cannot create or change an application that may be granted scopes you do not hold yourself: ${missing.join(', ')}`)
  }
}
