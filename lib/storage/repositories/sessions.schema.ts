import { createHash } from 'node:crypto'
import { Type, type Static } from '@sinclair/typebox'
import { iso, type Session } from '../models.js'

/**
 * A session's public handle. The stored session id is what the login cookie carries, so it is
 * a credential: tools name sessions by a digest of it instead.
 */
export function sessionHandle (sessionId: string): string {
  return 'ses_' + createHash('sha256').update(sessionId).digest('base64url').slice(0, 32)
}

export const SessionSchema = Type.Object({
  id: Type.String({ description: 'the session\'s handle (not its cookie); pass it to end_session' }),
  userId: Type.String(),
  userAgent: Type.String(),
  ip: Type.String(),
  createdTime: Type.String(),
  expiresTime: Type.String()
})
export function sessionOut (s: Session): Static<typeof SessionSchema> {
  return { id: sessionHandle(s.id), userId: s.userId, userAgent: s.userAgent, ip: s.ip, createdTime: iso(s.createdAt), expiresTime: iso(s.expiresAt) }
}
