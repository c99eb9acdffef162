/** RFC 6749 §5.2 error codes (plus RFC 8707's `invalid_target` and RFC 9449's `invalid_dpop_proof`). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'temporarily_unavailable'
  | 'invalid_dpop_proof'

/** A refusal the token endpoint answers as an RFC 6749 error body. */
export class OAuthError extends Error {
  readonly code: OAuthErrorCode
  readonly statusCode: number
  constructor (code: OAuthErrorCode, description: string, statusCode = code === 'invalid_client' ? 401 : 400) {
    super(description)
    this.name = 'OAuthError'
    this.code = code
    this.statusCode = statusCode
  }

  toJSON (): { error: OAuthErrorCode, error_description: string } {
    return { error: this.code, error_description: this.message }
  }
}
