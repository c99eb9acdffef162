/*
 * Enterprise-managed authorization (the MCP extension
 * `io.modelcontextprotocol/enterprise-managed-authorization`, draft-ietf-oauth-identity-assertion-authz-grant):
 * the names on the wire, and the lifetimes this service holds to.
 */

export const ENTERPRISE_EXTENSION = 'io.modelcontextprotocol/enterprise-managed-authorization'
/** RFC 7523 JWT bearer grant: an ID-JAG in, an access token out. */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
/** RFC 8693 token exchange: an ID token in, an ID-JAG out. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token'
export const ID_JAG_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id-jag'
export const ID_JAG_PROFILE = 'urn:ietf:params:oauth:grant-profile:id-jag'
/** The JWS `typ` of an ID-JAG. */
export const ID_JAG_TYP = 'oauth-id-jag+jwt'

/** How long the ID-JAGs this service issues live: minutes, as the draft asks. */
export const ISSUED_ID_JAG_TTL_S = 300
/** The longest-lived ID-JAG this service accepts (`exp` − `iat`). */
export const ACCEPTED_ID_JAG_MAX_TTL_S = 600
/** Clock difference allowed on assertions from other servers. */
export const ASSERTION_CLOCK_TOLERANCE_S = 30

/** Whether a JWS `typ` names an ID-JAG (bare or as an `application/` media type, any case). */
export function isIdJagTyp (typ: unknown): boolean {
  if (typeof typ !== 'string') return false
  const t = typ.toLowerCase()
  return t === ID_JAG_TYP || t === `application/${ID_JAG_TYP}`
}
