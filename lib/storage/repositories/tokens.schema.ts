import { Type, type Static } from '@sinclair/typebox'
import { iso, type TokenRecord } from '../models.js'
import { sessionHandle } from './sessions.schema.js'

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
