import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Application } from '../storage/models.js'
import type { ClientAuthMethod } from './grants.js'
import { OAuthError } from './errors.js'

export interface AuthenticatedClient {
  client: Application
  method: ClientAuthMethod
}

/** The `Authorization` header's scheme, lower-cased, or undefined. */
export function authorizationScheme (request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header === undefined || header.trim() === '') return undefined
  return header.trim().split(/[ \t]/, 1)[0].toLowerCase()
}

/**
 * RFC 6749 §2.3 client authentication at an OAuth endpoint: HTTP Basic (through the same
 * checks as `/api/mcp`), or `client_id` + `client_secret` in the body, or a public client
 * naming itself by `client_id` alone. One method only; a disabled or unknown client, or a
 * wrong secret, is `invalid_client`.
 */
export async function authenticateClient (fastify: FastifyInstance, request: FastifyRequest, params: Readonly<Record<string, string | undefined>>): Promise<AuthenticatedClient> {
  const { authState } = fastify
  const scheme = authorizationScheme(request)
  const bodyId = params.client_id
  const bodySecret = params.client_secret
  if (scheme === 'basic') {
    if (bodySecret !== undefined) throw new OAuthError('invalid_request', 'use one client authentication method, not several')
    const result = await fastify.authenticate(request)
    if (!result.ok || result.principal.clientId === null) throw new OAuthError('invalid_client', 'client authentication failed')
    if (bodyId !== undefined && bodyId !== result.principal.clientId) throw new OAuthError('invalid_request', 'client_id does not match the authenticated client')
    const client = await authState.application(result.principal.clientId)
    if (client === undefined || client.isDisabled) throw new OAuthError('invalid_client', 'client authentication failed')
    return { client, method: 'client_secret_basic' }
  }
  if (bodyId === undefined || bodyId === '') throw new OAuthError('invalid_client', 'client authentication is required')
  await authState.ensureFresh()
  if (bodySecret !== undefined) {
    const client = await authState.authenticateClient(bodyId, bodySecret)
    if (client === undefined || client.isDisabled) throw new OAuthError('invalid_client', 'client authentication failed')
    return { client, method: 'client_secret_post' }
  }
  const client = await authState.application(bodyId)
  if (client === undefined || client.isDisabled || client.tokenEndpointAuthMethod !== 'none') {
    throw new OAuthError('invalid_client', 'client authentication failed')
  }
  return { client, method: 'none' }
}

/** The client id a request names (Basic user-id or body `client_id`), for rate limiting only. */
export function claimedClientId (request: FastifyRequest, body: unknown): string | undefined {
  if (authorizationScheme(request) === 'basic') {
    const encoded = (request.headers.authorization ?? '').trim().split(/[ \t]+/)[1] ?? ''
    const decoded = Buffer.from(encoded, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    return colon < 0 ? undefined : decoded.slice(0, colon)
  }
  const id = (body as { client_id?: unknown } | null)?.client_id
  return typeof id === 'string' ? id : undefined
}
