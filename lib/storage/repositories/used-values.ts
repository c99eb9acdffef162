import { sql } from 'kysely'
import type { StorageContext } from '../context.js'
import { guard } from '../errors.js'

/**
 * One-time values shared by every instance: the primary key decides, so two instances that see
 * the same value at once cannot both accept it.
 */
export class UsedValueRepository {
  constructor (private readonly context: StorageContext) {}

  /**
   * Records `value` as used; false when it already was (a replay). `expiresAt` is when the value
   * would be refused anyway (its `exp`, or its `iat` plus the accepted window).
   */
  async claim (kind: string, value: string, expiresAt: number): Promise<boolean> {
    const result = await guard('one-time value', () => this.context.db.insertInto('used_values')
      .values({ kind, value, expires_at: expiresAt })
      .onConflict(oc => oc.columns(['kind', 'value']).doNothing())
      .returning('value')
      .executeTakeFirst())
    return result !== undefined
  }

  /** Deletes up to `limit` values that expired before `before` (one bounded statement); returns how many went. */
  async purgeExpired (before: number, limit = 1000): Promise<number> {
    const db = this.context.db
    const expired = db.selectFrom('used_values').select(['kind', 'value']).where('expires_at', '<', before).limit(limit)
    const result = await guard('one-time value', () => db.deleteFrom('used_values')
      .where(sql<boolean>`(kind, value) in (${expired})`)
      .executeTakeFirst())
    return Number(result.numDeletedRows)
  }
}
