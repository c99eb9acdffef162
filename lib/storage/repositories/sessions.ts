import type { StorageContext, Write } from '../context.js'
import { guard } from '../errors.js'
import { sql } from 'kysely'
import { IN_LIST_MAX } from '../queries.js'
import { decodeCursor, pageLimit, toPage, type Page, type PageRequest } from '../paging.js'
import { randomToken } from '../../crypto.js'
import { revokeTokens } from './tokens.js'
import { toSession, type Session, type SessionRow } from './sessions.schema.js'

/**
 * Ends, within `write`, every session of these users that has not ended (expired ones too: their
 * tokens may still be alive), revoking the tokens issued through them; one change each.
 */
export async function endSessionsOf (write: Write, userIds: readonly string[]): Promise<void> {
  const { trx } = write
  for (let i = 0; i < userIds.length; i += IN_LIST_MAX) {
    const some = userIds.slice(i, i + IN_LIST_MAX)
    const rows = await trx.selectFrom('sessions').select('id').where('user_id', 'in', some).where('ended_at', 'is', null).execute()
    if (rows.length === 0) continue
    await trx.updateTable('sessions').set({ ended_at: Date.now() }).where('user_id', 'in', some).where('ended_at', 'is', null).execute()
    const ids = rows.map(r => r.id)
    for (const id of ids) await write.record('session.ended', id)
    await revokeTokens(write, 'session_id', ids)
  }
}

export class SessionRepository {
  constructor (private readonly context: StorageContext) {}

  /**
   * Opens a session. Only the digest of the cookie's random value is stored, as the row id: a
   * database reader cannot present it. `cookieValue` is returned here and never again.
   */
  async create (input: { userId: string, userAgent: string, ip: string, ttlSeconds: number }): Promise<Session & { cookieValue: string }> {
    const now = Date.now()
    const cookieValue = randomToken(32)
    const row: SessionRow = { id: this.idOf(cookieValue), user_id: input.userId, user_agent: input.userAgent.slice(0, 512), ip: input.ip, created_at: now, expires_at: now + input.ttlSeconds * 1000, ended_at: null }
    await guard('session', () => this.context.db.insertInto('sessions').values(row).execute())
    return { ...toSession(row), cookieValue }
  }

  /** The row id of the session a cookie value opens. */
  idOf (cookieValue: string): string {
    return this.context.digest(cookieValue)
  }

  async find (id: string): Promise<Session | undefined> {
    const row = await guard('session', () => this.context.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst())
    return row === undefined ? undefined : toSession(row)
  }

  /** An unexpired, not ended session, or undefined. */
  async findActive (id: string): Promise<Session | undefined> {
    const session = await this.find(id)
    if (session === undefined || session.endedAt !== null || session.expiresAt <= Date.now()) return undefined
    return session
  }

  async list (req: PageRequest & { userId?: string, owner?: string } = {}): Promise<Page<Session>> {
    const limit = pageLimit(req.limit)
    const after = decodeCursor(req.cursor)
    let query = this.context.db.selectFrom('sessions').selectAll().where('ended_at', 'is', null).where('expires_at', '>', Date.now())
    if (req.userId !== undefined) query = query.where('user_id', '=', req.userId)
    // `user_owner` is the organization part of `user_id` (migration 0006), indexed with id.
    if (req.owner !== undefined) query = query.where(sql.ref('user_owner'), '=', req.owner)
    if (after !== undefined) query = query.where('id', '>', after)
    const rows = await guard('session', () => query.orderBy('id').limit(limit + 1).execute())
    return toPage(rows, limit, r => r.id, toSession)
  }

  /**
   * Ends a session everywhere: its cookie stops working and the tokens issued through it are
   * revoked, in one transaction. Undefined when it was not active (unknown or already ended).
   */
  async end (id: string): Promise<{ revokedTokens: number } | undefined> {
    return await this.context.write(async (write) => {
      const result = await write.trx.updateTable('sessions').set({ ended_at: Date.now() }).where('id', '=', id).where('ended_at', 'is', null).executeTakeFirst()
      if (Number(result.numUpdatedRows) !== 1) return undefined
      await write.record('session.ended', id)
      return { revokedTokens: await revokeTokens(write, 'session_id', [id]) }
    })
  }
}
