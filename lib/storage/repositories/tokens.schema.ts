import { Type, type Static } from '@sinclair/typebox'
import { iso } from '../columns.js'
import { sessionHandle } from './sessions.schema.js'

/** The `tokens` table, as Kysely sees it. */
export interface TokenRow {
  /** The JWT's `jti` for access tokens; the digest of the opaque value for refresh tokens. */
  id: string
  kind: string
  subject: string
  subject_kind: string
  client_id: string
  scope: string
  audience: string
  family_id: string | null
  session_id: string | null
  code_id: string | null
  /** The identity provider whose assertion bought it (the JWT bearer grant), else null. */
  provider_id: string | null
  expires_at: number
  created_at: number
  revoked_at: number | null
  used_at: number | null
  /** The DPoP key thumbprint the token is bound to (RFC 9449), or null. */
  jkt: string | null
}

/** A token as the repository returns it. */
export interface TokenRecord {
  id: string
  kind: 'access' | 'refresh'
  subject: string
  subjectKind: 'user' | 'application'
  clientId: string
  scope: string
  audience: string
  familyId: string | null
  sessionId: string | null
  codeId: string | null
  providerId: string | null
  expiresAt: number
  createdAt: number
  revokedAt: number | null
  usedAt: number | null
  /** The DPoP key thumbprint (RFC 7638) the token is bound to; null when unbound. */
  jkt: string | null
}

export function toToken (r: TokenRow): TokenRecord {
  return {
    id: r.id,
    kind: r.kind === 'refresh' ? 'refresh' : 'access',
    subject: r.subject,
    subjectKind: r.subject_kind === 'user' ? 'user' : 'application',
    clientId: r.client_id,
    scope: r.scope,
    audience: r.audience,
    familyId: r.family_id,
    sessionId: r.session_id,
    codeId: r.code_id,
    providerId: r.provider_id ?? null,
    expiresAt: r.expires_at,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
    usedAt: r.used_at,
    jkt: r.jkt ?? null
  }
}

export const TokenSchema = Type.Object({
  id: Type.String({ description: 'the token id (the JWT\'s jti); pass it to revoke_token' }),
  kind: Type.Union([Type.Literal('access'), Type.Literal('refresh')]),
  subject: Type.String({ description: 'id of the user or application the token acts for' }),
  subjectKind: Type.Union([Type.Literal('user'), Type.Literal('application')]),
  clientId: Type.String(),
  scope: Type.String(),
  audience: Type.String(),
  session: Type.Optional(Type.String({ description: 'handle of the login session it was issued through' })),
  createdTime: Type.String(),
  expiresTime: Type.String(),
  revokedTime: Type.Optional(Type.String()),
  active: Type.Boolean({ description: 'neither revoked nor expired' })
})
export function tokenOut (t: TokenRecord, now = Date.now()): Static<typeof TokenSchema> {
  const out: Static<typeof TokenSchema> = {
    id: t.id,
    kind: t.kind,
    subject: t.subject,
    subjectKind: t.subjectKind,
    clientId: t.clientId,
    scope: t.scope,
    audience: t.audience,
    createdTime: iso(t.createdAt),
    expiresTime: iso(t.expiresAt),
    active: t.revokedAt === null && t.expiresAt > now
  }
  if (t.sessionId !== null) out.session = sessionHandle(t.sessionId)
  if (t.revokedAt !== null) out.revokedTime = iso(t.revokedAt)
  return out
}
