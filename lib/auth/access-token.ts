import type { Principal } from '../principal.js'
import type { Session, User } from '../storage/models.js'
import type { AccessTokenClaims } from '../jwt.js'
import { BUILT_IN } from '../bootstrap.js'

/*
 * The pure parts of checking one of this service's access tokens: claim shapes, account
 * freshness, the principal a user's token stands for. The auth plugin wires them to its
 * caches and the auth state.
 */

/** A session that has neither ended nor expired. */
export function isActive (session: Session | undefined): boolean {
  return session !== undefined && session.endedAt === null && session.expiresAt > Date.now()
}

/** Whether a token issued at `iat` (epoch seconds: one-second precision) predates the account's creation. */
export function issuedBefore (iat: number, createdTime: string): boolean {
  return iat * 1000 + 1000 < Date.parse(createdTime)
}

/** Parses the claims @fastify/jwt verified into our shape; undefined when a claim has the wrong type. */
export function toClaims (payload: Record<string, unknown>): AccessTokenClaims | undefined {
  const { iss, sub, aud, exp, iat, jti, scope, client_id: clientId, sub_kind: subKind, sid } = payload
  if (typeof iss !== 'string' || typeof sub !== 'string' || typeof exp !== 'number' || typeof iat !== 'number') return undefined
  if (typeof jti !== 'string' || typeof clientId !== 'string' || (scope !== undefined && typeof scope !== 'string')) return undefined
  if (subKind !== 'user' && subKind !== 'application') return undefined
  if (sid !== undefined && typeof sid !== 'string') return undefined
  if (typeof aud !== 'string' && !Array.isArray(aud)) return undefined
  const { cnf } = payload
  if (cnf !== undefined && (cnf === null || typeof cnf !== 'object' || typeof (cnf as { jkt?: unknown }).jkt !== 'string')) return undefined
  const { idp, idp_sub: idpSubject } = payload
  if ((idp !== undefined || idpSubject !== undefined) && (typeof idp !== 'string' || typeof idpSubject !== 'string')) return undefined
  return { ...(payload as unknown as AccessTokenClaims), scope: scope ?? '' }
}

/**
 * What a principal carries besides its subject: the token or session it came with, the identity
 * provider that vouched for it.
 */
export type PrincipalExtras = Pick<Principal, 'tokenId' | 'sessionId' | 'provider'>

/**
 * `principal` with the extras that are present. Never build a principal with a spread
 * (`{ ...principal, tokenId }`): V8 then gives almost every such object a hidden class of its
 * own (about 350 bytes more each), more than the rest of a cached token's entry. A bearer
 * principal, kept per cached token, is one literal with its `tokenId` in the object itself.
 */
export function withExtras (principal: Principal, extras: PrincipalExtras | undefined): Principal {
  if (extras === undefined) return principal
  let result = principal
  if (extras.tokenId !== undefined) {
    const { kind, id, organization, name, isAdmin, isGlobalAdmin, clientId, scopes, via } = principal
    result = { kind, id, organization, name, isAdmin, isGlobalAdmin, clientId, scopes, via, tokenId: extras.tokenId }
  }
  if (extras.sessionId !== undefined) result.sessionId = extras.sessionId
  if (extras.provider !== undefined) result.provider = extras.provider
  return result
}

/** A user as a principal: its organization decides its reach (global admin of `built-in`). */
export function userPrincipal (user: User, clientId: string | null, scopes: ReadonlySet<string> | null, via: Principal['via'], extras?: PrincipalExtras): Principal {
  return withExtras({
    kind: 'user',
    id: user.id,
    organization: user.owner,
    name: user.name,
    isAdmin: user.isAdmin,
    isGlobalAdmin: user.isAdmin && user.owner === BUILT_IN,
    clientId,
    scopes,
    via
  }, extras)
}

/**
 * Whether two principals say the same thing: a token whose checks are redone (every minute, or
 * after any change) keeps the principal it had, and the new one dies young instead of leaving
 * one old object a cached token to collect.
 */
export function samePrincipal (a: Principal, b: Principal): boolean {
  return a.kind === b.kind && a.id === b.id && a.organization === b.organization && a.name === b.name &&
    a.isAdmin === b.isAdmin && a.isGlobalAdmin === b.isGlobalAdmin && a.clientId === b.clientId &&
    a.scopes === b.scopes && a.via === b.via && a.tokenId === b.tokenId && a.sessionId === b.sessionId &&
    a.provider?.id === b.provider?.id && a.provider?.subject === b.provider?.subject
}
