import type { StorageContext } from '../context.js'
import { guard } from '../errors.js'
import { toAuthorizationCode, type AuthorizationCode } from './authorization-codes.schema.js'

export class AuthorizationCodeRepository {
  constructor (private readonly context: StorageContext) {}

  async insert (code: Omit<AuthorizationCode, 'createdAt' | 'usedAt'>): Promise<void> {
    await guard('authorization code', () => this.context.db.insertInto('authorization_codes').values({
      id: code.id,
      client_id: code.clientId,
      user_id: code.userId,
      session_id: code.sessionId,
      redirect_uri: code.redirectUri,
      scope: code.scope,
      resource: code.resource,
      code_challenge: code.codeChallenge,
      nonce: code.nonce,
      expires_at: code.expiresAt,
      created_at: Date.now(),
      used_at: null,
      replayed_at: null
    }).execute())
  }

  /** Records that a used code was presented again (before revoking what it issued). */
  async markReplayed (id: string): Promise<void> {
    await guard('authorization code', () => this.context.db.updateTable('authorization_codes').set({ replayed_at: Date.now() }).where('id', '=', id).execute())
  }

  /**
   * Whether the code was replayed. The first exchange asks this after issuing its tokens: a
   * replay that revoked before they existed is caught here instead.
   */
  async wasReplayed (id: string): Promise<boolean> {
    const row = await guard('authorization code', () => this.context.db.selectFrom('authorization_codes').select('replayed_at').where('id', '=', id).executeTakeFirst())
    return row?.replayed_at != null
  }

  /**
   * Takes a code for exchange. `used` tells a replay apart: the caller must then revoke what
   * the first exchange issued.
   */
  async consume (id: string): Promise<{ code: AuthorizationCode, used: boolean } | undefined> {
    const row = await guard('authorization code', () => this.context.db.selectFrom('authorization_codes').selectAll().where('id', '=', id).executeTakeFirst())
    if (row === undefined) return undefined
    const result = await guard('authorization code', () => this.context.db.updateTable('authorization_codes').set({ used_at: Date.now() })
      .where('id', '=', id).where('used_at', 'is', null).executeTakeFirst())
    return { code: toAuthorizationCode(row), used: Number(result.numUpdatedRows) !== 1 }
  }
}
