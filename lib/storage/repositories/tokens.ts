import type { StorageContext, Queryable, Write } from '../context.js'
import { guard } from '../errors.js'
import { sql } from 'kysely'
import { IN_LIST_MAX } from '../queries.js'
import { decodeCursor, pageLimit, toPage, type Page, type PageRequest } from '../paging.js'
import { toToken, type TokenRecord, type TokenRow } from './tokens.schema.js'

export type TokenInput = Omit<TokenRecord, 'createdAt' | 'revokedAt' | 'usedAt'>

type RevokeColumn = 'id' | 'family_id' | 'code_id' | 'subject' | 'session_id' | 'client_id'

export interface TokenListRequest extends PageRequest {
  subject?: string
  clientId?: string
  /** Subjects whose tokens may be listed (an organization's users and applications). */
  owner?: string
  includeExpired?: boolean
}

/**
 * Revokes, within `write`, the unrevoked tokens whose `column` is one of `values`, recording a
 * change for each. Returns how many were revoked.
 */
export async function revokeTokens (write: Write, column: RevokeColumn, values: readonly string[]): Promise<number> {
  const { trx } = write
  let count = 0
  for (let i = 0; i < values.length; i += IN_LIST_MAX) {
    const some = values.slice(i, i + IN_LIST_MAX)
    const rows = await trx.selectFrom('tokens').select('id').where(column, 'in', some).where('revoked_at', 'is', null).execute()
    if (rows.length === 0) continue
    await trx.updateTable('tokens').set({ revoked_at: Date.now() }).where(column, 'in', some).where('revoked_at', 'is', null).execute()
    for (const r of rows) await write.record('token.revoked', r.id)
    count += rows.length
  }
  return count
}

export class TokenRepository {
  constructor (private readonly context: StorageContext) {}

  async insert (input: TokenInput, q: Queryable = this.context.db): Promise<TokenRecord> {
    const row: TokenRow = {
      id: input.id,
      kind: input.kind,
      subject: input.subject,
      subject_kind: input.subjectKind,
      client_id: input.clientId,
      scope: input.scope,
      audience: input.audience,
      family_id: input.familyId,
      session_id: input.sessionId,
      code_id: input.codeId,
      expires_at: input.expiresAt,
      created_at: Date.now(),
      revoked_at: null,
      used_at: null
    }
    await guard('token', () => q.insertInto('tokens').values(row).execute())
    return toToken(row)
  }

  async find (id: string, q: Queryable = this.context.db): Promise<TokenRecord | undefined> {
    const row = await guard('token', () => q.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst())
    return row === undefined ? undefined : toToken(row)
  }

  async list (req: TokenListRequest = {}): Promise<Page<TokenRecord>> {
    const limit = pageLimit(req.limit)
    const after = decodeCursor(req.cursor)
    let query = this.context.db.selectFrom('tokens').selectAll()
    if (req.subject !== undefined) query = query.where('subject', '=', req.subject)
    if (req.clientId !== undefined) query = query.where('client_id', '=', req.clientId)
    // `subject_owner` is the organization part of `subject` (migration 0006), indexed with id.
    if (req.owner !== undefined) query = query.where(sql.ref('subject_owner'), '=', req.owner)
    if (req.includeExpired !== true) query = query.where('expires_at', '>', Date.now())
    if (after !== undefined) query = query.where('id', '>', after)
    const rows = await guard('token', () => query.orderBy('id').limit(limit + 1).execute())
    return toPage(rows, limit, r => r.id, toToken)
  }

  /** Revokes the tokens whose `column` is `value`, and tells every instance. Returns how many were revoked. */
  private async revokeWhere (column: RevokeColumn, value: string): Promise<number> {
    return await this.context.write(write => revokeTokens(write, column, [value]))
  }

  revoke (id: string): Promise<number> { return this.revokeWhere('id', id) }
  revokeFamily (familyId: string): Promise<number> { return this.revokeWhere('family_id', familyId) }
  revokeByCode (codeId: string): Promise<number> { return this.revokeWhere('code_id', codeId) }

  /** Marks a refresh token used; false when it already was (a replay). Atomic across instances. */
  async markUsed (id: string, q: Queryable = this.context.db): Promise<boolean> {
    const result = await guard('token', () => q.updateTable('tokens').set({ used_at: Date.now() }).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst())
    return Number(result.numUpdatedRows) === 1
  }

  /** Ids of revoked tokens that have not expired yet: the deny-list an instance starts with. */
  async revokedUnexpired (): Promise<string[]> {
    const rows = await guard('token', () => this.context.db.selectFrom('tokens').select('id').where('revoked_at', 'is not', null).where('expires_at', '>', Date.now()).execute())
    return rows.map(r => r.id)
  }
}
