import type { Application } from '../storage/models.js'
import type { ClientAuthMethod } from './grants/types.js'
import { OAuthError } from './errors.js'

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
}

/** The `Authorization` header's scheme, lower-cased, or undefined. */
export function authorizationScheme (header: string | undefined): string | undefined {
  if (header === undefined || header.trim() === '') return undefined
  return header.trim().split(/[ \t]/, 1)[0].toLowerCase()
}

/**
 * RFC 6749 §2.3 client authentication at an OAuth endpoint: HTTP Basic (`authorizationHeader`),
 * or `client_id` + `client_secret` in the body, or a public client naming itself by `client_id`
 * alone. One method only; a disabled or unknown client, or a wrong secret, is `invalid_client`.
 * This says who the client is, not that it may act for itself (lib/auth/policy.ts decides that).
 */
export async function authenticateClient (services: ClientAuthServices, authorizationHeader: string | undefined, params: Readonly<Record<string, string | undefined>>): Promise<AuthenticatedClient> {
  const scheme = authorizationScheme(authorizationHeader)
  const bodyId = params.client_id
  const bodySecret = params.client_secret
  if (scheme === 'basic') {
    if (bodySecret !== undefined) throw new OAuthError('invalid_request', 'use one client authentication method, not several')
    const credentials = basicCredentials(authorizationHeader ?? '')
    if (credentials === undefined) throw new OAuthError('invalid_client', 'client authentication failed')
    await services.ensureFresh()
    const client = await clientOfBasicCredentials(services.authenticateClient, credentials.id, credentials.secret)
    if (client === undefined || client.isDisabled) throw new OAuthError('invalid_client', 'client authentication failed')
    if (bodyId !== undefined && bodyId !== client.clientId) throw new OAuthError('invalid_request', 'client_id does not match the authenticated client')
    return { client, method: 'client_secret_basic' }
  }
  if (bodyId === undefined || bodyId === '') throw new OAuthError('invalid_client', 'client authentication is required')
  await services.ensureFresh()
  if (bodySecret !== undefined) {
    const client = await services.authenticateClient(bodyId, bodySecret)
    if (client === undefined || client.isDisabled) throw new OAuthError('invalid_client', 'client authentication failed')
    return { client, method: 'client_secret_post' }
  }
  const client = await services.application(bodyId)
  if (client === undefined || client.isDisabled || client.tokenEndpointAuthMethod !== 'none') {
    throw new OAuthError('invalid_client', 'client authentication failed')
  }
  return { client, method: 'none' }
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

/** The client id a request names (Basic user-id or body `client_id`), for rate limiting only. */
export function claimedClientId (authorizationHeader: string | undefined, body: unknown): string | undefined {
  if (authorizationScheme(authorizationHeader) === 'basic') {
    const encoded = (authorizationHeader ?? '').trim().split(/[ \t]+/)[1] ?? ''
    const decoded = Buffer.from(encoded, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    return colon < 0 ? undefined : decoded.slice(0, colon)
  }
  const id = (body as { client_id?: unknown } | null)?.client_id
  return typeof id === 'string' ? id : undefined
}
