import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Application } from '../storage/models.js'
import type { TokenResponse } from '../../plugins/tokens.js'
import { clientCredentialsGrant } from './grants/client-credentials.js'
import { authorizationCodeGrant } from './grants/authorization-code.js'
import { refreshTokenGrant } from './grants/refresh-token.js'

/** How the client proved itself at the token endpoint. */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none'

/** What a grant handler is given: an authenticated, enabled client allowed this grant type. */
export interface GrantContext {
  fastify: FastifyInstance
  request: FastifyRequest
  client: Application
  clientAuthMethod: ClientAuthMethod
  /** The request's parameters, each present at most once (RFC 6749 §3.2). */
  params: Readonly<Record<string, string | undefined>>
  /** Every `resource` parameter (RFC 8707 allows several); resolve with `audienceFor`. */
  resources: readonly string[]
  /** `{base}`: the issuer and the default audience. */
  base: string
}

/**
 * Issues the tokens for one grant type, or throws an OAuthError (lib/oauth/errors.ts) that the
 * endpoint answers as an RFC 6749 error body.
 */
export type GrantHandler = (context: GrantContext) => Promise<TokenResponse>

/**
 * `grant_type` → handler. Each grant lives in its own file under `grants/`; adding one is one
 * import line and one entry here.
 */
export const grantHandlers: Readonly<Record<string, GrantHandler>> = {
  client_credentials: clientCredentialsGrant,
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant
}
