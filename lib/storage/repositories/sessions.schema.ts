import { createHash } from 'node:crypto'
import { Type, type Static } from '@sinclair/typebox'
import { iso } from '../columns.js'

/** The `sessions` table, as Kysely sees it. */
export interface SessionRow {
  /** The keyed digest of the cookie's value (`store.digest`): the value itself is never stored. */
  id: string
  user_id: string
  user_agent: string
  ip: string
  created_at: number
  expires_at: number
  ended_at: number | null
}

/** A login session as the repository returns it. */
export interface Session {
  id: string
  userId: string
  userAgent: string
  ip: string
  createdAt: number
  expiresAt: number
  endedAt: number | null
}

export function toSession (r: SessionRow): Session {
  return { id: r.id, userId: r.user_id, userAgent: r.user_agent, ip: r.ip, createdAt: r.created_at, expiresAt: r.expires_at, endedAt: r.ended_at }
}

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
