import { randomUUID } from 'node:crypto'
import type { AppConfig } from '../config.js'
import type { Store } from '../storage/store.js'
import { randomToken, sha256, uuidv7 } from '../crypto.js'
import { OIDC_SCOPES } from '../scopes.js'

/** What `TokenService.issue` is asked for. */
export interface IssueOptions {
  /** `owner/name` of the user, or of the application for client credentials. */
  subject: string
  subjectKind: 'user' | 'application'
  /** The OAuth client the token is issued to. */
  clientId: string
  /** The granted, already expanded scopes (the response's `scope` lists exactly these). */
  scopes: readonly string[]
  /** `aud` of the access token: `{base}` or `{base}/api/mcp`. */
  audience: string
  /** `iss`: the request's public base; the service's own (`publicBase()`) when absent. */
  issuer?: string
  /** The session the grant went through: ending it ends the access token too. */
  sessionId?: string
  /** The authorization code the tokens were issued for (revoked together on code replay). */
  codeId?: string
  /** The refresh-token family to continue; a new one is started when absent. */
  familyId?: string
  /** Issue a rotating refresh token too. */
  refresh?: boolean
  /** OIDC `nonce` for the ID token. */
  nonce?: string
  /** Issue an OIDC ID token too (when `openid` was granted). */
  idToken?: boolean
  /** `auth_time` for the ID token (seconds); now when absent. */
  authTime?: number
  /**
   * DPoP (RFC 9449): the thumbprint of the proof's key. The access token carries it as
   * `cnf.jkt` (and is a `DPoP` token); the refresh token is bound to it only with `bindRefresh`
   * (public clients, §5: a confidential client's refresh token is bound by its authentication).
   */
  dpop?: { jkt: string, bindRefresh: boolean }
  /**
   * The identity provider whose assertion bought the token, and the user's subject there: the
   * token names them (`idp`, `idp_sub`) so every call's audit event does, and disabling the
   * provider revokes it.
   */
  provider?: { id: string, subject: string }
}

/**
 * How a token request's DPoP proof binds what is issued (RFC 9449 §5): the access token always;
 * the refresh token only for a public client, which has no other proof of who presents it.
 */
export function dpopBinding (jkt: string | undefined, clientAuthMethod: string): { dpop?: { jkt: string, bindRefresh: boolean } } {
  return jkt === undefined ? {} : { dpop: { jkt, bindRefresh: clientAuthMethod === 'none' } }
}

/** RFC 6749 §5.1 token response (RFC 8693 §2.2.1 for token exchange: `N_A` and `issued_token_type`). */
export interface TokenResponse {
  access_token: string
  token_type: 'Bearer' | 'DPoP' | 'N_A'
  issued_token_type?: string
  expires_in: number
  scope: string
  refresh_token?: string
  id_token?: string
}

export interface IssuedTokens {
  response: TokenResponse
  /** The access token's `jti` (its row id). */
  accessTokenId: string
  /** The refresh token's row id (the digest of the token) and family, when one was issued. */
  refreshTokenId?: string
  familyId?: string
}

export interface TokenService {
  /** Signs an access token (and optionally refresh and ID tokens) and records their rows. */
  issue: (options: IssueOptions) => Promise<TokenResponse>
  /** As `issue`, also returning the ids of what was recorded. */
  issueDetailed: (options: IssueOptions) => Promise<IssuedTokens>
  /** The row id under which a refresh token is stored (only its digest is kept). */
  refreshTokenId: (refreshToken: string) => string
}

/** Signs with the current signing key (the keys plugin's `signingKeys` is one). */
export interface TokenSigner {
  /** An access token (typ `at+jwt`). */
  signAccessToken: (claims: Record<string, unknown>) => string
  /** An OIDC ID token (typ `JWT`). */
  signIdToken: (claims: Record<string, unknown>) => string
}

export interface TokenServiceDeps {
  /** Token rows are recorded here; the ID token's profile claims are read from its users. */
  store: Pick<Store, 'tokens' | 'users' | 'digest'>
  /** Lifetimes in seconds. */
  config: Pick<AppConfig, 'ACCESS_TOKEN_TTL' | 'REFRESH_TOKEN_TTL'>
  signer: TokenSigner
  /** The issuer when a caller names none (no request at hand: tools, tests). */
  publicBase: () => string
  /** Milliseconds since the epoch; `Date.now` when absent. */
  clock?: () => number
}

/** Issues and records access, refresh and ID tokens: the one place their claims are written. */
export function createTokenService ({ store, config, signer, publicBase, clock = Date.now }: TokenServiceDeps): TokenService {
  function refreshTokenId (refreshToken: string): string {
    return store.digest(refreshToken)
  }

  async function issueDetailed (options: IssueOptions): Promise<IssuedTokens> {
    const issuer = options.issuer ?? publicBase()
    const nowMs = clock()
    const now = Math.floor(nowMs / 1000)
    const exp = now + config.ACCESS_TOKEN_TTL
    const jti = uuidv7(nowMs)
    const scope = options.scopes.join(' ')
    const accessToken = signer.signAccessToken({
      iss: issuer,
      sub: options.subject,
      aud: options.audience,
      exp,
      iat: now,
      nbf: now,
      jti,
      scope,
      client_id: options.clientId,
      sub_kind: options.subjectKind,
      ...(options.sessionId === undefined ? {} : { sid: options.sessionId }),
      ...(options.dpop === undefined ? {} : { cnf: { jkt: options.dpop.jkt } }),
      ...(options.provider === undefined ? {} : { idp: options.provider.id, idp_sub: options.provider.subject })
    })
    await store.tokens.insert({
      id: jti,
      kind: 'access',
      subject: options.subject,
      subjectKind: options.subjectKind,
      clientId: options.clientId,
      scope,
      audience: options.audience,
      familyId: options.familyId ?? null,
      sessionId: options.sessionId ?? null,
      codeId: options.codeId ?? null,
      expiresAt: exp * 1000,
      jkt: options.dpop?.jkt ?? null,
      providerId: options.provider?.id ?? null
    })
    const response: TokenResponse = { access_token: accessToken, token_type: options.dpop === undefined ? 'Bearer' : 'DPoP', expires_in: config.ACCESS_TOKEN_TTL, scope }
    const issued: IssuedTokens = { response, accessTokenId: jti }

    if (options.refresh === true) {
      const refreshToken = randomToken(32)
      const familyId = options.familyId ?? randomUUID()
      const id = refreshTokenId(refreshToken)
      await store.tokens.insert({
        id,
        kind: 'refresh',
        subject: options.subject,
        subjectKind: options.subjectKind,
        clientId: options.clientId,
        scope,
        audience: options.audience,
        familyId,
        sessionId: options.sessionId ?? null,
        codeId: options.codeId ?? null,
        expiresAt: (now + config.REFRESH_TOKEN_TTL) * 1000,
        jkt: options.dpop?.bindRefresh === true ? options.dpop.jkt : null
      })
      response.refresh_token = refreshToken
      issued.refreshTokenId = id
      issued.familyId = familyId
    }

    if (options.idToken === true && options.subjectKind === 'user') {
      const claims: Record<string, unknown> = {
        iss: issuer,
        sub: options.subject,
        aud: options.clientId,
        azp: options.clientId,
        exp,
        iat: now,
        auth_time: options.authTime ?? now,
        jti: randomUUID(),
        // OIDC Core §3.1.3.6: left half of the SHA-256 of the access token.
        at_hash: Buffer.from(sha256(accessToken), 'base64url').subarray(0, 16).toString('base64url'),
        ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
        ...(options.sessionId === undefined ? {} : { sid: options.sessionId })
      }
      const wantsProfile = options.scopes.includes(OIDC_SCOPES[1])
      const wantsEmail = options.scopes.includes(OIDC_SCOPES[2])
      if (wantsProfile || wantsEmail) {
        const user = await store.users.find(options.subject)
        if (user !== undefined && wantsProfile) {
          claims.name = user.displayName
          claims.preferred_username = user.name
        }
        if (user !== undefined && wantsEmail && user.email !== '') claims.email = user.email
      }
      response.id_token = signer.signIdToken(claims)
    }
    return issued
  }

  return {
    issue: async (options: IssueOptions) => (await issueDetailed(options)).response,
    issueDetailed,
    refreshTokenId
  }
}
