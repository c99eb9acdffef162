import { Type, type Static } from '@sinclair/typebox'
import type { Application } from '../storage/models.js'
import { expandScopes, parseScope, sortScopes } from '../scopes.js'
import { isValidChallenge } from './pkce.js'
import { audienceFor } from './resource.js'
import { OAuthError } from './errors.js'
import { grantableScopes, mayRedirectAuthorizeError } from '../auth/policy.js'
import { REQUEST_LIFETIME_MS, redirectWith, type AuthorizationRequest } from './authorization-request.js'
import { ClientMetadataError } from './client-metadata.js'
import { redirectUriMatches } from './redirect-uri.js'

const text = (maxLength: number) => Type.Optional(Type.String({ maxLength }))

/** Everything optional: what is missing or wrong is answered by the flow (page or redirect). */
export const AuthorizeQuerySchema = Type.Object({
  response_type: text(64),
  // Long enough for a client id that is a metadata document URL.
  client_id: text(2048),
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

/** An error page of the flow: what the person is told, and the OAuth code for their report. */
export interface PageError { status: number, title: string, message: string, code: string }

export function unknownClientPage (): PageError {
  return { status: 400, title: 'Unknown application', message: 'The application that sent you here is not registered with this service, or has been disabled.', code: 'invalid_client' }
}

/** A metadata-document client that cannot be used (the document, its host or the setting): why. */
export function metadataDocumentPage (err: ClientMetadataError): PageError {
  return { status: 400, title: 'The application could not be verified', message: `The application identifies itself by the address of its metadata document, which could not be used: ${err.message}.`, code: 'invalid_client' }
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

/** Finds an application by its client id (the auth-state cache does). */
export type ApplicationLookup = (clientId: string) => Promise<Application | undefined>

/**
 * The client a request names, when it exists and is enabled, or the page saying why not (a
 * metadata-document client whose document cannot be used says what is wrong with it).
 */
export async function enabledClient (application: ApplicationLookup, clientId: string | undefined): Promise<{ client: Application } | { page: PageError }> {
  if (clientId === undefined || clientId === '') return { page: unknownClientPage() }
  let client: Application | undefined
  try {
    client = await application(clientId)
  } catch (err) {
    if (err instanceof ClientMetadataError) return { page: metadataDocumentPage(err) }
    throw err
  }
  return client === undefined || client.isDisabled ? { page: unknownClientPage() } : { client }
}

export interface AuthorizeQueryDeps {
  /** The public base of this request: the `iss` of redirects, what `resource` must name. */
  base: string
  application: ApplicationLookup
  /** Every scope some tool declares. */
  knownScopes: ReadonlySet<string>
}

export type Validation =
  | { ok: true, request: AuthorizationRequest, client: Application, prompt: ReadonlySet<string> }
  | { ok: false, page: PageError }
  | { ok: false, redirect: string }

const PROMPTS = new Set(['none', 'login', 'consent', 'select_account'])

/**
 * Checks an authorization request (RFC 6749 §4.1.1, OAuth 2.1, RFC 7636, RFC 8707). Until the
 * client and its redirect URI are known to be good, errors are pages; after that they go back
 * to the client (with `state` and `iss`) when the policy allows it before any page of ours.
 */
export async function validateAuthorizeQuery (deps: AuthorizeQueryDeps, query: AuthorizeQuery): Promise<Validation> {
  const { base } = deps
  if (query.client_id === undefined || query.client_id === '') {
    return { ok: false, page: { status: 400, title: 'Incomplete request', message: 'The request does not say which application is asking (client_id is missing).', code: 'invalid_request' } }
  }
  const found = await enabledClient(deps.application, query.client_id)
  if ('page' in found) return { ok: false, page: found.page }
  const { client } = found

  let redirectUri: string
  if (query.redirect_uri === undefined || query.redirect_uri === '') {
    if (client.redirectUris.length !== 1) {
      return { ok: false, page: { status: 400, title: 'Incomplete request', message: 'The request does not say where to send you back to (redirect_uri is missing).', code: 'invalid_request' } }
    }
    redirectUri = client.redirectUris[0]
  } else if (redirectUriMatches(client.redirectUris, query.redirect_uri)) {
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

  const allowed = new Set(grantableScopes(client, deps.knownScopes, 'user'))
  // Unknown scopes (offline_access, …) are dropped; aliases are expanded; the token response says what was granted.
  const asked = query.scope === undefined ? [...allowed] : expandScopes(parseScope(query.scope), deps.knownScopes, true)
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

/** The query that restarts this request at the authorization endpoint (after the login form). */
export function restartQuery (req: AuthorizationRequest): URLSearchParams {
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
  return params
}
