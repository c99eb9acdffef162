import type { Application, Session, User } from '../../storage/models.js'
import type { Store } from '../../storage/store.js'
import type { JWTPayload } from 'jose'
import type { TokenResponse, TokenService } from '../tokens.js'
import type { KeySets } from '../../net/key-sets.js'

/** How the client proved itself at the token endpoint. */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none'

/**
 * The accounts a grant re-checks before issuing, read through the in-memory auth state (the
 * auth-state plugin's `authState` is one) so that a forbidden user or an ended session is seen
 * at once, on every instance.
 */
export interface GrantAccounts {
  /** The user, or undefined when it does not exist. */
  user: (id: string) => Promise<User | undefined>
  /** The session and its user while both are live (not ended, not expired, not forbidden). */
  liveSession: (id: string) => Promise<{ session: Session, user: User } | undefined>
}

/** Where a grant says what it saw (a replayed code or refresh token). */
export interface GrantLogger {
  warn: (details: Record<string, unknown>, message: string) => void
  info: (details: Record<string, unknown>, message: string) => void
}

/** What the enterprise-managed authorization grants use beyond the others' services. */
export interface EnterpriseServices {
  /** Identity providers' public keys, inline or fetched (the cache clients' keys share). */
  keySets: Pick<KeySets, 'keys'>
  /** Signs an ID-JAG (typ `oauth-id-jag+jwt`) with this service's current key. */
  signIdJag: (claims: Record<string, unknown>) => string
  /**
   * Verifies a JWT this service signed as an ID token (typ `JWT`, our keys, RS256, `exp`):
   * its claims, or throws. Issuer and audience are the caller's to check.
   */
  verifyIdToken: (token: string) => Promise<JWTPayload>
}

/** What every grant may use, the same for every request. */
export interface GrantServices {
  tokens: Pick<TokenService, 'issue' | 'refreshTokenId'>
  /**
   * The repositories grants read and write (codes, tokens, sessions; users, identity providers,
   * connections and one-time values for enterprise-managed authorization), and the digest codes
   * are stored under.
   */
  store: Pick<Store, 'codes' | 'tokens' | 'sessions' | 'digest' | 'users' | 'identityProviders' | 'connections' | 'usedValues'>
  enterprise: EnterpriseServices
  accounts: GrantAccounts
  /** Every scope some tool declares. */
  knownScopes: ReadonlySet<string>
  log: GrantLogger
}

/** What a grant handler is given: an authenticated, enabled client allowed this grant type. */
export interface GrantContext extends GrantServices {
  client: Application
  clientAuthMethod: ClientAuthMethod
  /** The request's parameters, each present at most once (RFC 6749 §3.2). */
  params: Readonly<Record<string, string | undefined>>
  /** Every `resource` parameter (RFC 8707 allows several); resolve with `audienceFor`. */
  resources: readonly string[]
  /** `{base}`: the issuer and the default audience. */
  base: string
  /** The thumbprint of the key of the request's valid DPoP proof (RFC 9449), when one came. */
  dpopJkt?: string
}

/**
 * Issues the tokens for one grant type, or throws an OAuthError (lib/oauth/errors.ts) that the
 * endpoint answers as an RFC 6749 error body.
 */
export type GrantHandler = (context: GrantContext) => Promise<TokenResponse>
