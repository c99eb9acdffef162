import type { StorageContext } from '../context.js'
import { guard } from '../errors.js'

export class LoginFailureRepository {
  constructor (private readonly context: StorageContext) {}

  async lockedUntil (key: string): Promise<number> {
    const row = await guard('login', () => this.context.db.selectFrom('login_failures').selectAll().where('key', '=', key).executeTakeFirst())
    return row?.locked_until ?? 0
  }

  /** Counts a failure; past `max` failures the account locks for `lockSeconds`, then the count restarts. */
  async fail (key: string, max: number, lockSeconds: number): Promise<{ failures: number, lockedUntil: number }> {
    const now = Date.now()
    return await this.context.transaction(async (trx) => {
      const row = await trx.selectFrom('login_failures').selectAll().where('key', '=', key).executeTakeFirst()
      const failures = (row === undefined || (row.locked_until > 0 && row.locked_until <= now)) ? 1 : row.failures + 1
      const lockedUntil = failures >= max ? now + lockSeconds * 1000 : 0
      const values = { key, failures: failures >= max ? 0 : failures, first_at: row?.first_at ?? now, locked_until: lockedUntil }
      await trx.insertInto('login_failures').values(values).onConflict(oc => oc.column('key').doUpdateSet({ failures: values.failures, locked_until: values.locked_until })).execute()
      return { failures, lockedUntil }
    })
  }

  async reset (key: string): Promise<void> {
    await guard('login', () => this.context.db.deleteFrom('login_failures').where('key', '=', key).execute())
  }
}
