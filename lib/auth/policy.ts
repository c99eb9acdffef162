import type { Application } from '../storage/models.js'
import { expandScopes, OIDC_SCOPES, sortScopes } from '../scopes.js'

/*
 * Who may do what through an application: the rules DESIGN.md calls "rules that hold on every
 * path", each decided here and nowhere else. Pure functions over what they are given.
 */

/**
 * Clients that anyone may create without an administrator: dynamic registration, and clients
 * known by the URL of their metadata document (anyone can publish one). They act only for a
 * person who consented, and until one has seen a page of ours they get no redirect.
 */
export function isSelfRegistered (app: Pick<Application, 'isDynamic' | 'isMetadataDocument'>): boolean {
  return app.isDynamic || app.isMetadataDocument
}

/**
 * Whether an application may act for itself — HTTP Basic on /api/mcp, the client_credentials
 * grant, or a token issued to it that way: enabled, holding the client_credentials grant,
 * confidential (it has a secret), and created by an administrator.
 */
export function mayActForItself (app: Pick<Application, 'isDisabled' | 'grantTypes' | 'tokenEndpointAuthMethod' | 'isDynamic' | 'isMetadataDocument'>): boolean {
  return !app.isDisabled &&
    app.grantTypes.includes('client_credentials') &&
    app.tokenEndpointAuthMethod !== 'none' &&
    !isSelfRegistered(app)
}

/** `user`: a person's flow (authorization code); `self`: the application acting for itself. */
export type GrantFlow = 'user' | 'self'

/**
 * What an application may be granted: its scopes with the aliases expanded against the tools'
 * scopes; in a user flow also the OIDC scopes, which are about the person and theirs to give.
 * Sorted, without duplicates.
 */
export function grantableScopes (app: Pick<Application, 'scopes'>, toolScopes: ReadonlySet<string>, flow: GrantFlow): string[] {
  const scopes = expandScopes(app.scopes, toolScopes)
  if (flow === 'user') scopes.push(...OIDC_SCOPES)
  return sortScopes(scopes)
}

/** How a client came to exist, as the audit log names it. */
export type ClientKind = 'application' | 'dynamic' | 'metadata-document'

export function clientKind (app: Pick<Application, 'isDynamic' | 'isMetadataDocument'>): ClientKind {
  if (app.isMetadataDocument) return 'metadata-document'
  return app.isDynamic ? 'dynamic' : 'application'
}

/**
 * The fields of an application that are ways in or say what it may get: changing any of them
 * needs the caller to hold all it may be granted (`missingToChangeApplication`). How it proves
 * itself (method, keys) is a way in as much as a redirect URI is.
 */
export const APPLICATION_ACCESS_FIELDS = ['scopes', 'grantTypes', 'redirectUris', 'tokenEndpointAuthMethod', 'jwks', 'jwksUri', 'applicationType', 'dpopBoundAccessTokens'] as const

/** Whether a change touches any of `APPLICATION_ACCESS_FIELDS`. */
export function changesApplicationAccess (patch: Partial<Record<typeof APPLICATION_ACCESS_FIELDS[number], unknown>>): boolean {
  return APPLICATION_ACCESS_FIELDS.some(field => patch[field] !== undefined)
}

/**
 * Whether a caller may create an application, change what it may be granted, its grant types
 * or redirect URIs, or rotate its secret: only when the caller holds every scope the
 * application may be granted (after the change), so no one hands out more than they hold.
 * `callerScopes` null is a login session, which holds whatever its role reaches (the role
 * itself is checked by the object permissions). OIDC scopes are not tool scopes: always given.
 * Returns the scopes the caller lacks; empty means allowed.
 */
export function missingToChangeApplication (callerScopes: ReadonlySet<string> | null, app: Pick<Application, 'scopes'>, toolScopes: ReadonlySet<string>): string[] {
  if (callerScopes === null) return []
  return grantableScopes(app, toolScopes, 'self').filter(s => !callerScopes.has(s))
}

/**
 * Whether an error at the authorization endpoint may be sent to the client's redirect URI.
 * Anyone can register a client with any https redirect, so for such clients it is a page of
 * ours until a person has seen one in this flow (else: an open redirector). Pre-registered
 * applications were vouched for by an administrator.
 */
export function mayRedirectAuthorizeError (client: Pick<Application, 'isDynamic' | 'isMetadataDocument'>, personSawPage: boolean): boolean {
  return personSawPage || !isSelfRegistered(client)
}
