/** The `authorization_codes` table, as Kysely sees it. */
export interface AuthorizationCodeRow {
  id: string
  client_id: string
  user_id: string
  session_id: string | null
  redirect_uri: string
  scope: string
  resource: string
  code_challenge: string
  nonce: string | null
  expires_at: number
  created_at: number
  used_at: number | null
  replayed_at: number | null
}

/** An authorization code as the repository returns it. */
export interface AuthorizationCode {
  id: string
  clientId: string
  userId: string
  sessionId: string | null
  redirectUri: string
  scope: string
  resource: string
  codeChallenge: string
  nonce: string | null
  expiresAt: number
  createdAt: number
  usedAt: number | null
}

export function toAuthorizationCode (r: AuthorizationCodeRow): AuthorizationCode {
  return {
    id: r.id,
    clientId: r.client_id,
    userId: r.user_id,
    sessionId: r.session_id,
    redirectUri: r.redirect_uri,
    scope: r.scope,
    resource: r.resource,
    codeChallenge: r.code_challenge,
    nonce: r.nonce,
    expiresAt: r.expires_at,
    createdAt: r.created_at,
    usedAt: r.used_at
  }
}
