import type { StorageContext, Queryable } from '../context.js'
import { StoreError, guard } from '../errors.js'

export class SettingRepository {
  constructor (private readonly context: StorageContext) {}

  async get (key: string, q: Queryable = this.context.db): Promise<string | undefined> {
    const row = await guard('setting', () => q.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst())
    return row?.value
  }

  async set (key: string, value: string, q: Queryable = this.context.db): Promise<void> {
    await guard('setting', () => q.insertInto('settings').values({ key, value }).onConflict(oc => oc.column('key').doUpdateSet({ value })).execute())
  }

  /** The stored value, or `make()` stored now; the first instance to store wins. */
  async getOrCreate (key: string, make: () => string, q: Queryable = this.context.db): Promise<{ value: string, created: boolean }> {
    const candidate = make()
    const result = await guard('setting', () => q.insertInto('settings').values({ key, value: candidate }).onConflict(oc => oc.column('key').doNothing()).executeTakeFirst())
    const created = Number(result.numInsertedOrUpdatedRows ?? 0n) === 1
    const value = created ? candidate : await this.get(key, q)
    if (value === undefined) throw new StoreError('unavailable', `setting ${key} could not be read`)
    return { value, created }
  }
}
