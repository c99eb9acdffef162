/**
 * Names of the fields whose values are credentials: passwords, client secrets, tokens, PKCE
 * verifiers, client assertions. The one list every redaction starts from: log fields and
 * query parameters in logged URLs (lib/logger.ts), audited tool arguments (lib/mcp/audit.ts).
 * A new kind of credential is named here once, and none of them can miss it.
 */
export const SECRET_NAMES: readonly string[] = [
  'password', 'secret', 'client_secret', 'clientSecret', 'access_token', 'refresh_token', 'id_token', 'token',
  'registration_access_token', 'code_verifier', 'assertion'
]
