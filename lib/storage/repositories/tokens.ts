import type { StorageContext, Queryable, Write } from '../context.js'
import { guard } from '../errors.js'
import { sql } from 'kysely'
import { IN_LIST_MAX } from '../queries.js'
import { decodeCursor, pageLimit, toPage, type Page, type PageRequest } from '../paging.js'
import { toToken, type TokenRecord, type TokenRow } from './tokens.schema.js'

export type TokenInput = Omit<TokenRecord, 'createdAt' | 'revokedAt' | 'usedAt' | 'jkt' | 'providerId'> & { jkt?: string | null, providerId?: string | null }

export type RevokeColumn = 'id' | 'family_id' | 'code_id' | 'subject' | 'session_id' | 'client_id' | 'provider_id'

export interface TokenListRequest extends PageRequest {
  subject?: string
  clientId?: string
  /** Subjects whose tokens may be listed (an organization's users and applications). */
  owner?: string
  includeExpired?: boolean
}

/**
 * Rows one bounded revocation statement changes: tens of milliseconds of SQLite's writer (which
 * runs on the event loop) on a busy two-core machine, far below the 250 ms any other request
 * may wait.
 */
export const REVOKE_BATCH = 1000

/** The change that names a revoked group: `tokens.revoked` with ref `<column>:<value>`. */
export function groupRef (column: Exclude<RevokeColumn, 'id'>, value: string): string {
  return `${column}:${value}`
}

const GROUP_COLUMNS: ReadonlySet<string> = new Set(['family_id', 'code_id', 'subject', 'session_id', 'client_id', 'provider_id'])

/** The column and value a `tokens.revoked` ref names, or undefined when it names none (refuse it). */
export function parseGroupRef (ref: string): { column: Exclude<RevokeColumn, 'id'>, value: string } | undefined {
  const colon = ref.indexOf(':')
  const column = ref.slice(0, colon)
  if (colon < 0 || !GROUP_COLUMNS.has(column)) return undefined
  return { column: column as Exclude<RevokeColumn, 'id'>, value: ref.slice(colon + 1) }
}

/**
 * Revokes, within `write`, the unrevoked tokens whose `column` is one of `values`: one UPDATE per
 * `IN_LIST_MAX` values, and one change per token (`column` = id) or per value that revoked any
 * (`tokens.revoked`, carrying the ids to this instance's listeners). Returns how many were revoked.
 * For groups that may hold thousands of tokens, `TokenRepository.revokeAll` bounds the transactions.
 */
export async function revokeTokens (write: Write, column: RevokeColumn, values: readonly string[]): Promise<number> {
  const { trx } = write
  let count = 0
  for (let i = 0; i < values.length; i += IN_LIST_MAX) {
    const some = values.slice(i, i + IN_LIST_MAX)
    const rows = await trx.updateTable('tokens').set({ revoked_at: Date.now() })
      .where(column, 'in', some).where('revoked_at', 'is', null)
      .returning(['id', `${column} as value`]).execute() as Array<{ id: string, value: string }>
    count += rows.length
    if (column === 'id') {
      for (const r of rows) await write.record('token.revoked', r.id)
      continue
    }
    const byValue = new Map<string, string[]>()
    for (const r of rows) {
      const ids = byValue.get(r.value)
      if (ids === undefined) byValue.set(r.value, [r.id])
      else ids.push(r.id)
    }
    for (const [value, ids] of byValue) await write.record('tokens.revoked', groupRef(column, value), ids)
  }
  return count
}

/**
 * Revokes every unrevoked token whose `column` is `value`, REVOKE_BATCH rows per transaction,
 * yielding to other work between them: SQLite's single writer is never held for long, and on
 * either engine no transaction grows with the group. Each batch records one `tokens.revoked`
 * change. Not atomic as a whole: callers first commit what already refuses these tokens (the
 * application, user or session gone or disabled), so a batch not yet run leaves nothing usable.
 */
export async function revokeAll (context: StorageContext, column: Exclude<RevokeColumn, 'id'>, value: string): Promise<number> {
  let count = 0
  for (;;) {
    const revoked = await context.write(async (write) => {
      const { trx } = write
      const rows = await trx.updateTable('tokens').set({ revoked_at: Date.now() })
        .where('id', 'in', trx.selectFrom('tokens').select('id').where(column, '=', value).where('revoked_at', 'is', null).limit(REVOKE_BATCH))
        .returning('id').execute()
      if (rows.length > 0) await write.record('tokens.revoked', groupRef(column, value), rows.map(r => r.id))
      return rows.length
    })
    count += revoked
    if (revoked < REVOKE_BATCH) return count
    // Let what queued behind this batch run before the next one: a timer, not setImmediate,
    // so that timers and I/O callbacks both get their turn of the event loop.
    await new Promise(resolve => setTimeout(resolve, 0))
  }
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
      provider_id: input.providerId ?? null,
      expires_at: input.expiresAt,
      created_at: Date.now(),
      revoked_at: null,
      used_at: null,
      jkt: input.jkt ?? null
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

  /** See `revokeAll`. */
  revokeAll (column: Exclude<RevokeColumn, 'id'>, value: string): Promise<number> {
    return revokeAll(this.context, column, value)
  }

  /**
   * Ids of the revoked, unexpired tokens of a group a `tokens.revoked` change names: what
   * another instance adds to its deny-list.
   */
  async revokedIn (column: Exclude<RevokeColumn, 'id'>, value: string): Promise<string[]> {
    const rows = await guard('token', () => this.context.db.selectFrom('tokens').select('id')
      .where(column, '=', value).where('revoked_at', 'is not', null).where('expires_at', '>', Date.now()).execute())
    return rows.map(r => r.id)
  }

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
