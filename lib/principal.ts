/**
 * Who is calling. Exactly one principal per authenticated request, whichever of the three ways
 * in was used; tools and routes decide from this alone.
 */
export interface Principal {
  kind: 'user' | 'application'
  /** `owner/name` of the user or application. */
  id: string
  /** The organization the user or application belongs to. */
  organization: string
  name: string
  /** A user with `isAdmin` (of its organization); always false for applications. */
  isAdmin: boolean
  /**
   * Reaches every organization: a user of `built-in` with `isAdmin`, or an application of
   * `built-in` acting for itself.
   */
  isGlobalAdmin: boolean
  /** The OAuth client the request came through (the application itself for Basic). */
  clientId: string | null
  /**
   * The expanded scopes this request may use; `null` means unrestricted (session cookie: the
   * user's role still bounds which objects it touches).
   */
  scopes: ReadonlySet<string> | null
  via: 'bearer' | 'basic' | 'session' | 'test'
  /** The access token's `jti` (bearer). */
  tokenId?: string
  /** The session id (cookie, or the session a bearer token was issued through). */
  sessionId?: string
  /**
   * The identity provider whose assertion bought the bearer token (enterprise-managed
   * authorization), and the user's subject there: audit events name both.
   */
  provider?: { id: string, subject: string }
}

/**
 * Why a request carries no usable principal, for the 401 challenge. `dpop` marks a token refused
 * for DPoP reasons (RFC 9449 §7.1): its challenge is a `DPoP` one.
 */
export type AuthFailure =
  | { reason: 'missing' }
  | { reason: 'invalid_token', description: string, dpop?: true }
  | { reason: 'invalid_dpop_proof', description: string }
  | { reason: 'invalid_client', description: string }
  | { reason: 'invalid_session', description: string }

export type AuthResult = { ok: true, principal: Principal } | { ok: false, failure: AuthFailure }
