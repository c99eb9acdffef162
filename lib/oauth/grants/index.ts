import type { GrantHandler } from './types.js'
import { clientCredentialsGrant } from './client-credentials.js'
import { authorizationCodeGrant } from './authorization-code.js'
import { refreshTokenGrant } from './refresh-token.js'
import { jwtBearerGrant } from './jwt-bearer.js'
import { tokenExchangeGrant } from './token-exchange.js'
import { JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT } from '../id-jag.js'

export type { ClientAuthMethod, EnterpriseServices, GrantAccounts, GrantContext, GrantHandler, GrantLogger, GrantServices } from './types.js'

/**
 * `grant_type` → handler. Each grant lives in its own file beside this one; adding one is one
 * import line and one entry here.
 */
export const grantHandlers: Readonly<Record<string, GrantHandler>> = {
  client_credentials: clientCredentialsGrant,
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
  [JWT_BEARER_GRANT]: jwtBearerGrant,
  [TOKEN_EXCHANGE_GRANT]: tokenExchangeGrant
}
