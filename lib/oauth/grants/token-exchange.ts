import { randomUUID } from 'node:crypto'
import type { JWTPayload } from 'jose'
import type { GrantContext, GrantHandler } from './types.js'
import type { Connection, User } from '../../storage/models.js'
import { OAuthError } from '../errors.js'
import { parseScope, sortScopes } from '../../scopes.js'
import { normalizeResource } from '../resource.js'
import { ID_JAG_TOKEN_TYPE, ID_TOKEN_TYPE, ISSUED_ID_JAG_TTL_S, TOKEN_EXCHANGE_GRANT } from '../id-jag.js'

/**
 * RFC 8693 token exchange as the enterprise identity provider: an ID token this service issued
 * to the requesting client comes in; an ID-JAG for another authorization server (`audience`)
 * and its MCP server (`resource`) goes out, when a connection of the user's organization allows
 * that target to this client, with the requested scopes narrowed to the connection's.
 */
export const tokenExchangeGrant: GrantHandler = async (context) => {
  const { client, clientAuthMethod, params, resources, base, enterprise } = context
  if (clientAuthMethod === 'none') throw new OAuthError('invalid_client', 'token exchange is for confidential clients: authenticate the client', 401)
  if (params.requested_token_type !== ID_JAG_TOKEN_TYPE) {
    throw new OAuthError('invalid_request', `requested_token_type must be ${ID_JAG_TOKEN_TYPE}: this service exchanges ID tokens for identity assertion grants only`)
  }
  if (params.subject_token_type !== ID_TOKEN_TYPE) throw new OAuthError('invalid_request', `subject_token_type must be ${ID_TOKEN_TYPE}`)
  const subjectToken = params.subject_token
  if (subjectToken === undefined || subjectToken === '') throw new OAuthError('invalid_request', 'subject_token is required')
  if (params.actor_token !== undefined) throw new OAuthError('invalid_request', 'actor tokens (delegation) are not supported')
  const audience = params.audience
  if (audience === undefined || audience === '') throw new OAuthError('invalid_request', 'audience (the target authorization server\'s issuer) is required')
  if (resources.length !== 1) throw new OAuthError('invalid_target', 'exactly one resource (the target MCP server) is required')
  const resource = resources[0]

  const user = await subjectOf(context, subjectToken)
  const connection = await connectionFor(context, user, audience, resource)
  const allowed = new Set(connection.scopes)
  const requested = parseScope(params.scope)
  // A wider request is narrowed to the connection's scopes; refused only when nothing remains.
  const granted = sortScopes(requested.length === 0 ? [...allowed] : requested.filter(s => allowed.has(s)))
  if (granted.length === 0) throw new OAuthError('invalid_scope', 'none of the requested scopes is allowed by the organization\'s connection to this target')

  const now = Math.floor(Date.now() / 1000)
  const scope = granted.join(' ')
  const assertion = enterprise.signIdJag({
    iss: base,
    sub: user.id,
    aud: connection.audience,
    resource: connection.resource,
    client_id: connection.targetClientId,
    jti: randomUUID(),
    iat: now,
    exp: now + ISSUED_ID_JAG_TTL_S,
    scope,
    ...(user.email === '' ? {} : { email: user.email })
  })
  context.log.info({ grantType: TOKEN_EXCHANGE_GRANT, connection: connection.id, user: user.id, clientId: client.clientId }, 'identity assertion issued')
  return { access_token: assertion, issued_token_type: ID_JAG_TOKEN_TYPE, token_type: 'N_A', expires_in: ISSUED_ID_JAG_TTL_S, scope }
}

/** The live user of an ID token this service issued to this very client. */
async function subjectOf ({ enterprise, base, client, accounts }: GrantContext, token: string): Promise<User> {
  let claims: JWTPayload
  try {
    claims = await enterprise.verifyIdToken(token)
  } catch {
    throw new OAuthError('invalid_grant', 'subject_token is not a valid ID token issued by this service')
  }
  if (claims.iss !== base) throw new OAuthError('invalid_grant', 'subject_token was issued by another issuer')
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
  if (!audiences.includes(client.clientId)) throw new OAuthError('invalid_grant', 'subject_token was issued to another client')
  if (typeof claims.sub !== 'string') throw new OAuthError('invalid_grant', 'subject_token names no user')
  if (typeof claims.sid === 'string' && await accounts.liveSession(claims.sid) === undefined) {
    throw new OAuthError('invalid_grant', 'the session the subject_token was issued in has ended')
  }
  const user = await accounts.user(claims.sub)
  if (user === undefined || user.isForbidden) throw new OAuthError('invalid_grant', 'the subject_token\'s user no longer exists or is forbidden')
  return user
}

/** The first connection (by id) of the user's organization to this target that lets this client ask. */
async function connectionFor ({ store, client }: GrantContext, user: User, audience: string, resource: string): Promise<Connection> {
  // Compared as URLs (case of scheme and host, default port, trailing slash): clients build
  // these from discovery documents and do not always keep the exact spelling.
  const same = (a: string, b: string): boolean => (normalizeResource(a) ?? a) === (normalizeResource(b) ?? b)
  const candidates = (await store.connections.ofOrganization(user.owner)).filter(c => same(c.audience, audience) && same(c.resource, resource))
  const permitted = candidates.find(c => c.clients.length === 0 ? client.owner === user.owner : c.clients.includes(client.id))
  if (permitted === undefined) throw new OAuthError('invalid_target', 'the user\'s organization has no connection to this audience and resource for this client')
  return permitted
}
