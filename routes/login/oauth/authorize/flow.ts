import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Application, Session, User } from '../../../../lib/storage/models.js'
import { consentPage, errorPage, loginPage } from '../../../../lib/html/pages.js'
import { sendPage } from '../../../../lib/html/reply.js'
import { isSelfRegistered, mayRedirectAuthorizeError } from '../../../../lib/auth/policy.js'
import {
  REQUEST_LIFETIME_MS, consentCovers, issueCode, openRequest, redirectOrigin, redirectWith, sealRequest,
  type AuthorizationRequest
} from '../../../../lib/oauth/authorization-request.js'
import {
  badRedirectPage, csrfPage, enabledClient, expiredPage, refusedPage, restartQuery,
  validateAuthorizeQuery, type AuthorizeQuery, type PageError, type Validation
} from '../../../../lib/oauth/authorize-query.js'
import { isLoopbackRedirect, redirectUriMatches } from '../../../../lib/oauth/redirect-uri.js'

/*
 * The authorization flow of GET /login/oauth/authorize and its two forms (login/, consent/):
 * what each step answers, as pages and redirects. Not a route (autoload loads only index.ts
 * of a folder that has one); the rules it applies are in lib/oauth/authorize-query.ts and
 * lib/oauth/authorization-request.ts.
 */

export const AUTHORIZE_PATH = '/login/oauth/authorize'
export const LOGIN_PATH = '/login/oauth/authorize/login'
export const CONSENT_PATH = '/login/oauth/authorize/consent'

/** Checks the authorization endpoint's query (lib/oauth/authorize-query.ts) for this request. */
export async function validateQuery (fastify: FastifyInstance, request: FastifyRequest, query: AuthorizeQuery): Promise<Validation> {
  return await validateAuthorizeQuery({ base: fastify.publicBase(request), application: id => fastify.clientMetadata.application(id), knownScopes: fastify.tools.scopes }, query)
}

/** The authorize URL that restarts this request (after the login form: GET, then consent). */
export function authorizeUrl (req: AuthorizationRequest): string {
  return `${AUTHORIZE_PATH}?${restartQuery(req).toString()}`
}

/**
 * What every form of the flow checks first: its sealed request is ours and unexpired, its CSRF
 * token matches, and the client and its redirect URI still stand. Undefined when an error page
 * has been sent instead.
 */
export async function openForm (fastify: FastifyInstance, request: FastifyRequest, reply: FastifyReply, body: { request?: string, csrf_token?: string }): Promise<{ req: AuthorizationRequest, client: Application } | undefined> {
  const req = openRequest(fastify.secrets.cookie, body.request)
  if (req === undefined) { renderError(reply, expiredPage()); return undefined }
  if (!fastify.csrf.verify(request, body.csrf_token)) { renderError(reply, csrfPage()); return undefined }
  const found = await enabledClient(id => fastify.clientMetadata.application(id), req.clientId)
  if ('page' in found) { renderError(reply, found.page); return undefined }
  const { client } = found
  if (!redirectUriMatches(client.redirectUris, req.redirectUri)) { renderError(reply, badRedirectPage()); return undefined }
  return { req, client }
}

export function renderError (reply: FastifyReply, page: PageError): FastifyReply {
  return sendPage(reply, page.status, errorPage({ title: page.title, message: page.message, code: page.code }))
}

export function renderLogin (fastify: FastifyInstance, request: FastifyRequest, reply: FastifyReply, req: AuthorizationRequest, client: Application,
  opts: { status?: number, error?: string, username?: string, organization?: string } = {}): FastifyReply {
  return sendPage(reply, opts.status ?? 200, loginPage({
    clientName: client.displayName,
    action: LOGIN_PATH,
    csrfToken: fastify.csrf.token(request, reply),
    request: sealRequest(fastify.secrets.cookie, { ...req, expiresAt: Date.now() + REQUEST_LIFETIME_MS }),
    error: opts.error,
    username: opts.username,
    organization: opts.organization
  }), [redirectOrigin(req.redirectUri)])
}

export async function renderConsent (fastify: FastifyInstance, request: FastifyRequest, reply: FastifyReply, req: AuthorizationRequest, client: Application, user: User,
  opts: { status?: number, error?: string } = {}): Promise<FastifyReply> {
  const label = user.displayName !== '' && user.displayName !== user.name ? `${user.displayName} (${user.id})` : user.id
  const owner = await fastify.store.organizations.get(client.owner)
  return sendPage(reply, opts.status ?? 200, consentPage({
    clientName: client.displayName,
    organization: owner.displayName !== '' && owner.displayName !== owner.name ? `${owner.displayName} (${owner.name})` : owner.name,
    redirectHost: new URL(req.redirectUri).host,
    unverified: isSelfRegistered(client),
    ...(client.isMetadataDocument ? { documentHost: new URL(client.clientId).host, loopbackOnly: client.redirectUris.every(isLoopbackRedirect) } : {}),
    userLabel: label,
    scopes: req.scopes,
    action: CONSENT_PATH,
    csrfToken: fastify.csrf.token(request, reply),
    request: sealRequest(fastify.secrets.cookie, { ...req, expiresAt: Date.now() + REQUEST_LIFETIME_MS }),
    error: opts.error
  }), [redirectOrigin(req.redirectUri)])
}

/** Sends the code back to the client (RFC 6749 §4.1.2 with RFC 9207 `iss`). */
export async function grantCode (fastify: FastifyInstance, request: FastifyRequest, reply: FastifyReply, req: AuthorizationRequest, session: Session, scopes: string[], status: 302 | 303): Promise<FastifyReply> {
  const code = await issueCode(fastify.store, req, {
    userId: session.userId,
    sessionId: session.id,
    scopes,
    ttlSeconds: fastify.config.AUTHORIZATION_CODE_TTL
  })
  return reply.redirect(redirectWith(req.redirectUri, { code, state: req.state, iss: fastify.publicBase(request) }), status)
}

export function errorRedirect (fastify: FastifyInstance, request: FastifyRequest, reply: FastifyReply, req: AuthorizationRequest, error: string, description: string, status: 302 | 303): FastifyReply {
  return reply.redirect(redirectWith(req.redirectUri, { error, error_description: description, state: req.state, iss: fastify.publicBase(request) }), status)
}

/**
 * After a valid request: sign in when there is no session (or `prompt=login`), skip consent
 * when an earlier one covers every scope asked (unless `prompt=consent`), else ask.
 */
export async function proceed (fastify: FastifyInstance, request: FastifyRequest, reply: FastifyReply, req: AuthorizationRequest, client: Application, prompt: ReadonlySet<string>): Promise<FastifyReply> {
  // prompt=none: no page of ours is shown in this flow, so its errors are pages for some clients.
  const fail = (error: string, description: string): FastifyReply => mayRedirectAuthorizeError(client, false)
    ? errorRedirect(fastify, request, reply, req, error, description, 302)
    : renderError(reply, refusedPage(error, description))
  const current = prompt.has('login') ? undefined : await fastify.sessions.read(request)
  if (current === undefined) {
    if (prompt.has('none')) return fail('login_required', 'the user is not signed in')
    return renderLogin(fastify, request, reply, req, client)
  }
  if (!req.forceConsent && consentCovers(await fastify.store.consents.get(current.user.id, client.clientId), req.scopes)) {
    return await grantCode(fastify, request, reply, req, current.session, req.scopes, 302)
  }
  if (prompt.has('none')) return fail('consent_required', 'the user has not consented to these scopes')
  return await renderConsent(fastify, request, reply, req, client, current.user)
}
