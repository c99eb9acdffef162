import { Type, type Static } from '@sinclair/typebox'

/** The `signing_keys` table, as Kysely sees it. */
export interface SigningKeyRow {
  kid: string
  algorithm: string
  public_pem: string
  public_jwk: string
  /** `enc:v1:…` (encrypted with KEY_ENCRYPTION_SECRET or the SQLite key file), or PEM on PostgreSQL without it. */
  private_pem: string
  created_at: number
  /** When it stopped signing; null while it is the current key. */
  retired_at: number | null
}

/** A signing key as the repository returns it, private half included (still encrypted when stored so). */
export interface SigningKey {
  kid: string
  algorithm: string
  publicPem: string
  publicJwk: Record<string, unknown>
  privatePem: string
  createdAt: number
  retiredAt: number | null
}

export function toSigningKey (r: SigningKeyRow): SigningKey {
  return { kid: r.kid, algorithm: r.algorithm, publicPem: r.public_pem, publicJwk: JSON.parse(r.public_jwk), privatePem: r.private_pem, createdAt: r.created_at, retiredAt: r.retired_at }
}

/** Public facts about a signing key, as tools show them; never the private key. */
export interface SigningKeyInfo {
  kid: string
  algorithm: string
  createdTime: string
  /** When it stopped signing new tokens; absent for the current key. */
  retiredTime?: string
  current: boolean
}

export const SigningKeySchema = Type.Object({
  kid: Type.String(),
  algorithm: Type.String(),
  createdTime: Type.String(),
  retiredTime: Type.Optional(Type.String({ description: 'when it stopped signing new tokens' })),
  current: Type.Boolean({ description: 'the key new tokens are signed with' })
})
export function signingKeyOut (k: SigningKeyInfo): Static<typeof SigningKeySchema> {
  const out: Static<typeof SigningKeySchema> = { kid: k.kid, algorithm: k.algorithm, createdTime: k.createdTime, current: k.current }
  if (k.retiredTime !== undefined) out.retiredTime = k.retiredTime
  return out
}
