import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import type { Application, Session, User } from '../storage/models.js'
import { expandScopes, parseScope, sortScopes } from '../scopes.js'
import { readSession } from '../session.js'
import { consentPage, errorPage, loginPage } from '../html/pages.js'
import { sendPage } from '../html/reply.js'
import { isValidChallenge } from './pkce.js'
import { audienceFor } from './resource.js'
import { OAuthError } from './errors.js'
import { isUnavailable } from '../storage/errors.js'
import { grantableScopes, mayRedirectAuthorizeError } from '../auth/policy.js'
import {
  REQUEST_LIFETIME_MS, issueCode, openRequest, redirectOrigin, redirectWith, sealRequest,
  type AuthorizationRequest
} from './authorization-request.js'

export const AUTHORIZE_PATH = '/login/oauth/authorize'
export const LOGIN_PATH = '/login/oauth/authorize/login'
export const CONSENT_PATH = '/login/oauth/authorize/consent'

const text = (maxLength: number) => Type.Optional(Type.String({ maxLength }))

/** Everything optional: what is missing or wrong is answered by the flow (page or redirect). */
export const AuthorizeQuerySchema = Type.Object({
  response_type: text(64),
  client_id: text(256),
  redirect_uri: text(2048),
  scope: text(4096),
  state: text(2048),
  nonce: text(512),
  code_challenge: text(256),
  code_challenge_method: text(32),
  resource: text(2048),
  prompt: text(128),
  response_mode: text(32),
  request: text(8192),
  request_uri: text(2048)
}, { additionalProperties: true })
export type AuthorizeQuery = Static<typeof AuthorizeQuerySchema>

export interface PageError { status: number, title: string, message: string, code: string }

export type Validation =
  | { ok: true, request: AuthorizationRequest, client: Application, prompt: ReadonlySet<string> }
  | { ok: false, page: PageError }
  | { ok: false, redirect: string }

const PROMPTS = new Set(['none', 'login', 'consent', 'select_account'])

/** The client a request names, when it exists and is enabled. */
export async function findClient (fastify: FastifyInstance, clientId: string | undefined): Promise<Application | undefined> {
  if (clientId === undefined || clientId === '') return undefined
  const client = await fastify.authState.application(clientId)
  return client === undefined || client.isDisabled ? undefined : client
}

export function unknownClientPage (): PageError {
  return { status: 400, title: 'Unknown application', message: 'The application that sent you here is not registered with this service, or has been disabled.', code: 'invalid_client' }
}

export function badRedirectPage (): PageError {
  return { status: 400, title: 'Unregistered return address', message: 'The application asked to send you back to an address it has not registered, so the request was stopped.', code: 'invalid_request' }
}

export function expiredPage (): PageError {
  return { status: 400, title: 'This page has expired', message: 'This sign-in page is no longer valid. Start again from the application.', code: 'invalid_request' }
}

/** An error the client is not told about (see `mayRedirectAuthorizeError`): the person is. */
export function refusedPage (error: string, description: string): PageError {
  return { status: 400, title: 'The request was refused', message: `The application's sign-in request could not be completed: ${description}.`, code: error }
}

export function csrfPage (): PageError {
  return { status: 403, title: 'The form could not be verified', message: 'The form was sent without a valid security token (it may have been open too long, or cookies may be blocked). Start again from the application.', code: 'invalid_request' }
}

/**
 * Checks an authorization request (RFC 6749 §4.1.1, OAuth 2.1, RFC 7636, RFC 8707). Until the
 * client and its redirect URI are known to be good, errors are pages; after that they go back
 * to the client (with `state` and `iss`) when the policy allows it before any page of ours.
 */
export async function validateAuthorizeQuery (fastify: FastifyInstance, request: FastifyRequest, query: AuthorizeQuery): Promise<Validation> {
  const base = fastify.publicBase(request)
  if (query.client_id === undefined || query.client_id === '') {
    return { ok: false, page: { status: 400, title: 'Incomplete request', message: 'The request does not say which application is asking (client_id is missing).', code: 'invalid_request' } }
  }
  const client = await findClient(fastify, query.client_id)
  if (client === undefined) return { ok: false, page: unknownClientPage() }

  let redirectUri: string
  if (query.redirect_uri === undefined || query.redirect_uri === '') {
    if (client.redirectUris.length !== 1) {
      return { ok: false, page: { status: 400, title: 'Incomplete request', message: 'The request does not say where to send you back to (redirect_uri is missing).', code: 'invalid_request' } }
    }
    redirectUri = client.redirectUris[0]
  } else if (client.redirectUris.includes(query.redirect_uri)) {
    redirectUri = query.redirect_uri
  } else {
    return { ok: false, page: badRedirectPage() }
  }

  // No page of ours has been shown in this flow yet: nothing before this request proves a person.
  const fail = (error: string, description: string): Validation => mayRedirectAuthorizeError(client, false)
    ? { ok: false, redirect: redirectWith(redirectUri, { error, error_description: description, state: query.state, iss: base }) }
    : { ok: false, page: refusedPage(error, description) }

  if (query.request !== undefined) return fail('request_not_supported', 'request objects are not supported')
  if (query.request_uri !== undefined) return fail('request_uri_not_supported', 'request_uri is not supported')
  if (query.response_mode !== undefined && query.response_mode !== 'query') return fail('invalid_request', 'response_mode must be query')
  if (query.response_type === undefined) return fail('invalid_request', 'response_type is required')
  if (query.response_type !== 'code') return fail('unsupported_response_type', 'only response_type=code is supported')
  if (!client.grantTypes.includes('authorization_code')) return fail('unauthorized_client', 'this client may not use the authorization code grant')
  if (query.code_challenge === undefined || query.code_challenge === '') return fail('invalid_request', 'code_challenge is required (PKCE with S256)')
  if (query.code_challenge_method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256')
  if (!isValidChallenge(query.code_challenge)) return fail('invalid_request', 'code_challenge must be the base64url SHA-256 of the code verifier')

  let resource: string
  try {
    resource = audienceFor(base, query.resource)
  } catch (err) {
    if (err instanceof OAuthError) return fail(err.code, `resource must name this service (${base} or ${base}/api/mcp)`)
    throw err
  }

  const prompt = new Set(parseScope(query.prompt))
  for (const p of prompt) if (!PROMPTS.has(p)) return fail('invalid_request', `unsupported prompt value "${p}"`)
  if (prompt.has('none') && prompt.size > 1) return fail('invalid_request', 'prompt=none cannot be combined with other values')

  const allowed = new Set(grantableScopes(client, fastify.tools.scopes, 'user'))
  // Unknown scopes (offline_access, …) are dropped; aliases are expanded; the token response says what was granted.
  const asked = query.scope === undefined ? [...allowed] : expandScopes(parseScope(query.scope), fastify.tools.scopes, true)
  const scopes = sortScopes(asked.filter(s => allowed.has(s)))
  if (scopes.length === 0) return fail('invalid_scope', 'none of the requested scopes can be granted to this client')

  return {
    ok: true,
    client,
    prompt,
    request: {
      clientId: client.clientId,
      redirectUri,
      scopes,
      ...(query.state === undefined ? {} : { state: query.state }),
      ...(query.nonce === undefined ? {} : { nonce: query.nonce }),
      codeChallenge: query.code_challenge,
      resource,
      forceConsent: prompt.has('consent'),
      expiresAt: Date.now() + REQUEST_LIFETIME_MS
    }
  }
}

/** The authorize URL that restarts this request (after the login form: GET, then consent). */
export function authorizeUrl (req: AuthorizationRequest): string {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: req.clientId,
    redirect_uri: req.redirectUri,
    scope: req.scopes.join(' '),
    code_challenge: req.codeChallenge,
    code_challenge_method: 'S256',
    resource: req.resource
  })
  if (req.state !== undefined) params.set('state', req.state)
  if (req.nonce !== undefined) params.set('nonce', req.nonce)
  if (req.forceConsent) params.set('prompt', 'consent')
  return `${AUTHORIZE_PATH}?${params.toString()}`
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
  const client = await findClient(fastify, req.clientId)
  if (client === undefined) { renderError(reply, unknownClientPage()); return undefined }
  if (!client.redirectUris.includes(req.redirectUri)) { renderError(reply, badRedirectPage()); return undefined }
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
    unverified: client.isDynamic,
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

function covers (consented: readonly string[], wanted: readonly string[]): boolean {
  const have = new Set(consented)
  return wanted.every(s => have.has(s))
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
  const current = prompt.has('login') ? undefined : await readSession(fastify, request)
  if (current === undefined) {
    if (prompt.has('none')) return fail('login_required', 'the user is not signed in')
    return renderLogin(fastify, request, reply, req, client)
  }
  if (!req.forceConsent && covers(await fastify.store.consents.get(current.user.id, client.clientId), req.scopes)) {
    return await grantCode(fastify, request, reply, req, current.session, req.scopes, 302)
  }
  if (prompt.has('none')) return fail('consent_required', 'the user has not consented to these scopes')
  return await renderConsent(fastify, request, reply, req, client, current.user)
}

/** Errors on these pages are pages too: a person is reading, not a program. */
export function htmlErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.validation !== undefined || (error.statusCode !== undefined && error.statusCode < 500)) {
    request.log.info({ err: { message: error.message, code: error.code } }, 'authorization page refused')
    return renderError(reply, { status: error.statusCode ?? 400, title: 'Bad request', message: 'The request could not be understood. Start again from the application.', code: 'invalid_request' })
  }
  if (isUnavailable(error)) {
    request.log.error({ err: error }, 'authorization page: database unavailable')
    return renderError(reply, { status: 503, title: 'Temporarily unavailable', message: 'The service cannot complete this step right now. Try again in a moment.', code: 'temporarily_unavailable' })
  }
  request.log.error({ err: error }, 'authorization page failed')
  return renderError(reply, { status: 500, title: 'Something went wrong', message: 'The service could not complete this step. Try again in a moment.', code: 'server_error' })
}
