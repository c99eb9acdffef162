import type { Application } from '../storage/models.js'
import type { ClientAuthMethod } from './grants/types.js'
import { OAuthError } from './errors.js'
import { assertionIssuer, CLIENT_ASSERTION_TYPE, verifyClientAssertion, type AssertionAudience, type AssertionServices } from './client-assertion.js'

export interface AuthenticatedClient {
  client: Application
  method: ClientAuthMethod
}

/**
 * What client authentication reads, through the in-memory auth state (the auth-state plugin's
 * `authState` is one): fail closed when revocation data is stale, and memoized lookups.
 */
export interface ClientAuthServices {
  /** Undefined while revocation data is fresh; else a refresh that rejects when it fails. */
  ensureFresh: () => Promise<void> | undefined
  /** The application these client credentials belong to, or undefined. */
  authenticateClient: (clientId: string, clientSecret: string) => Promise<Application | undefined>
  /** The application with this client id. */
  application: (clientId: string) => Promise<Application | undefined>
  /** `private_key_jwt`: the clients' keys and the one-time claim of an assertion's `jti`. */
  assertions: AssertionServices
}

/** What a request adds: the audiences a client assertion may name (lib/oauth/client-assertion.ts). */
export type ClientAuthRequest = AssertionAudience

/** The `Authorization` header's scheme, lower-cased, or undefined. */
export function authorizationScheme (header: string | undefined): string | undefined {
  if (header === undefined || header.trim() === '') return undefined
  return header.trim().split(/[ \t]/, 1)[0].toLowerCase()
}

/**
 * RFC 6749 §2.3 client authentication at an OAuth endpoint: HTTP Basic (`authorizationHeader`),
 * or `client_id` + `client_secret` in the body, or a signed client assertion (`private_key_jwt`,
 * RFC 7523 §2.2), or a public client naming itself by `client_id` alone. One method only; a
 * disabled or unknown client, a wrong secret or a bad assertion is `invalid_client`. A client
 * registered for `private_key_jwt` has no secret: the assertion is its only way in.
 * This says who the client is, not that it may act for itself (lib/auth/policy.ts decides that).
 */
export async function authenticateClient (services: ClientAuthServices, authorizationHeader: string | undefined, params: Readonly<Record<string, string | undefined>>, request: ClientAuthRequest): Promise<AuthenticatedClient> {
  const scheme = authorizationScheme(authorizationHeader)
  const bodyId = params.client_id
  const bodySecret = params.client_secret
  const assertionType = params.client_assertion_type
  const assertion = params.client_assertion
  if (assertionType !== undefined || assertion !== undefined) {
    if (scheme === 'basic' || bodySecret !== undefined) throw new OAuthError('invalid_request', 'use one client authentication method, not several')
    if (assertionType !== CLIENT_ASSERTION_TYPE) throw new OAuthError('invalid_client', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`)
    if (assertion === undefined || assertion === '') throw new OAuthError('invalid_client', 'client_assertion is required with client_assertion_type')
    await services.ensureFresh()
    const client = await verifyClientAssertion(services.assertions, services.application, assertion, bodyId === '' ? undefined : bodyId, request)
    return { client, method: 'private_key_jwt' }
  }
  if (scheme === 'basic') {
    if (bodySecret !== undefined) throw new OAuthError('invalid_request', 'use one client authentication method, not several')
    const credentials = basicCredentials(authorizationHeader ?? '')
    if (credentials === undefined) throw new OAuthError('invalid_client', 'client authentication failed')
    await services.ensureFresh()
    const client = await clientOfBasicCredentials(services.authenticateClient, credentials.id, credentials.secret)
    if (client === undefined || client.isDisabled) throw await failed(services, credentials.id)
    if (bodyId !== undefined && bodyId !== client.clientId) throw new OAuthError('invalid_request', 'client_id does not match the authenticated client')
    return { client, method: 'client_secret_basic' }
  }
  if (bodyId === undefined || bodyId === '') throw new OAuthError('invalid_client', 'client authentication is required')
  await services.ensureFresh()
  if (bodySecret !== undefined) {
    const client = await services.authenticateClient(bodyId, bodySecret)
    if (client === undefined || client.isDisabled) throw await failed(services, bodyId)
    return { client, method: 'client_secret_post' }
  }
  const client = await services.application(bodyId)
  if (client === undefined || client.isDisabled || client.tokenEndpointAuthMethod !== 'none') {
    throw await failed(services, bodyId)
  }
  return { client, method: 'none' }
}

/**
 * The refusal of a client that did not prove itself: one that holds keys instead of a secret is
 * told so (a client id is not a secret; the method is in its registration), anyone else gets
 * the same words whatever went wrong.
 */
async function failed (services: ClientAuthServices, clientId: string): Promise<OAuthError> {
  const client = await services.application(clientId).catch(() => undefined)
  if (client !== undefined && !client.isDisabled && client.tokenEndpointAuthMethod === 'private_key_jwt') {
    return new OAuthError('invalid_client', 'this client authenticates with private_key_jwt only: send client_assertion_type and client_assertion, no secret')
  }
  return new OAuthError('invalid_client', 'client authentication failed')
}

// RFC 7617 with RFC 7235's lax whitespace, as @fastify/basic-auth parses it on /api/mcp.
const BASIC_HEADER = /^[ \t]*basic[ \t]+([\w.~+/-]+=*)[ \t]*$/i
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1F\x7F]/

/** The user-id and password of an HTTP Basic header, undecoded; undefined when malformed. */
export function basicCredentials (header: string): { id: string, secret: string } | undefined {
  const match = BASIC_HEADER.exec(header)
  if (match === null) return undefined
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  if (CONTROL.test(decoded)) return undefined
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) }
}

/**
 * The client that HTTP Basic credentials name: as sent, or form-decoded, as RFC 6749 §2.3.1 asks
 * clients to encode them (curl -u and most clients do not). Undefined when neither matches.
 */
export async function clientOfBasicCredentials (authenticate: (id: string, secret: string) => Promise<Application | undefined>, id: string, secret: string): Promise<Application | undefined> {
  const client = await authenticate(id, secret)
  if (client !== undefined) return client
  const [decodedId, decodedSecret] = [decodeFormComponent(id), decodeFormComponent(secret)]
  if (decodedId === id && decodedSecret === secret) return undefined
  return await authenticate(decodedId, decodedSecret)
}

/** Undoes application/x-www-form-urlencoded encoding, or returns the value as is. */
function decodeFormComponent (value: string): string {
  if (!value.includes('%') && !value.includes('+')) return value
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    return value
  }
}

/**
 * The client id a request names (Basic user-id, body `client_id`, or a client assertion's `iss`
 * read unverified), for rate limiting only.
 */
export function claimedClientId (authorizationHeader: string | undefined, body: unknown): string | undefined {
  if (authorizationScheme(authorizationHeader) === 'basic') {
    const encoded = (authorizationHeader ?? '').trim().split(/[ \t]+/)[1] ?? ''
    const decoded = Buffer.from(encoded, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    return colon < 0 ? undefined : decoded.slice(0, colon)
  }
  const { client_id: id, client_assertion: assertion } = (body ?? {}) as { client_id?: unknown, client_assertion?: unknown }
  if (typeof id === 'string') return id
  return typeof assertion === 'string' ? assertionIssuer(assertion) : undefined
}
